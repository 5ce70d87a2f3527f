import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Keywarden } from '../app/index.ts';
import { invalidField, KeywardenError } from '../errors/index.ts';
import { decryptSecret, encryptSecret } from '../secrets/index.ts';
import type { Repositories } from '../store/index.ts';
import { canonicalJson } from './canonical-json.ts';

/**
 * `Idempotency-Key` for mutations that mint keys (create, rotate): a retried request gets the
 * first answer again instead of a second key. The record is written in the same transaction
 * as the change, so two concurrent retries cannot both mint.
 *
 * - The scope is the actor, the method and the route *pattern* with its parameters, not the
 *   raw URL: `/v1/keys/` and `/v1/keys` are one route, and one request.
 * - The fingerprint is the sha256 of the body as canonical JSON (keys sorted), so the same
 *   body with its fields in another order is the same request.
 * - The header value is stored as its sha256 only: whatever a client puts there (a key, by
 *   mistake) never reaches the store.
 * - The stored answer holds the new plaintext key — the one place a plaintext key is kept,
 *   because a client whose first answer was lost has no other way to learn it. It is
 *   encrypted under the master key (bound to its scope), kept 24 hours, and never replayed
 *   once the key it holds was revoked or deleted: the record is dropped then, and the retry
 *   answers 409.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
const HEADER_PATTERN = /^[\x21-\x7e]{1,255}$/;

export interface StoredAnswer {
  status: number;
  body: unknown;
}

type Record = (tx: Repositories, answer: StoredAnswer) => Promise<void>;

let lastPurge = 0;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The scope of a request: who, and which route with which parameters. */
export function idempotencyScope(
  actorId: string,
  method: string,
  routePattern: string,
  params: unknown,
): string {
  return `${actorId} ${method} ${routePattern} ${canonicalJson(params ?? {})}`;
}

/** The fingerprint of a body: an absent body and `{}` ask for the same thing. */
export function requestFingerprint(body: unknown): string {
  return sha256(canonicalJson(body ?? {}));
}

/** The key a stored answer holds (`id` of a created or rotated key), if any. */
function mintedKeyId(body: unknown): string | null {
  const id = (body as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : null;
}

export async function idempotent(
  kw: Keywarden,
  request: FastifyRequest,
  run: (record: Record | undefined) => Promise<StoredAnswer>,
): Promise<StoredAnswer & { replayed: boolean }> {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return { ...(await run(undefined)), replayed: false };
  if (typeof header !== 'string' || !HEADER_PATTERN.test(header)) {
    throw invalidField('headers/idempotency-key', 'must be 1–255 printable ASCII characters');
  }
  const scope = idempotencyScope(
    request.actor?.id ?? 'anonymous',
    request.method,
    request.routeOptions.url ?? request.url.split('?', 1)[0]!,
    request.params,
  );
  const storedKey = sha256(header);
  const context = `idempotency:${scope}:${storedKey}`;
  const requestHash = requestFingerprint(request.body);
  const replay = async () => {
    const found = await kw.store.idempotency.find(scope, storedKey);
    if (!found) return null;
    if (found.createdAt < kw.clock.now() - IDEMPOTENCY_TTL_MS) {
      await kw.store.idempotency.deleteBefore(kw.clock.now() - IDEMPOTENCY_TTL_MS);
      return null;
    }
    if (found.requestHash !== requestHash) {
      throw new KeywardenError(
        'IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was used with a different body',
      );
    }
    const body: unknown = JSON.parse(decryptSecret(kw.secrets.masterKey, found.response, context));
    const keyId = mintedKeyId(body);
    if (keyId !== null) {
      const key = await kw.store.keys.findById(keyId);
      if (!key || key.status === 'revoked') {
        await kw.store.idempotency.delete(scope, storedKey);
        throw new KeywardenError(
          'KEY_STATE_CONFLICT',
          'the key this request created was revoked or deleted since: it is not shown again',
        );
      }
    }
    return { status: found.status, body, replayed: true };
  };

  const earlier = await replay();
  if (earlier) return earlier;
  const record: Record = (tx, answer) =>
    tx.idempotency.insert({
      scope,
      idempotencyKey: storedKey,
      requestHash,
      status: answer.status,
      response: encryptSecret(kw.secrets.masterKey, JSON.stringify(answer.body), context),
      createdAt: kw.clock.now(),
    });
  try {
    const answer = await run(record);
    purgeNowAndThen(kw);
    return { ...answer, replayed: false };
  } catch (error) {
    // A concurrent retry committed first (unique violation on the record): answer as it did.
    const raced = await replay().catch(() => null);
    if (raced) return raced;
    throw error;
  }
}

function purgeNowAndThen(kw: Keywarden): void {
  const now = kw.clock.now();
  if (now - lastPurge < 600_000) return;
  lastPurge = now;
  kw.store.idempotency.deleteBefore(now - IDEMPOTENCY_TTL_MS).catch(() => {});
}
