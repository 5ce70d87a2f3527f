import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Keywarden } from '../app/index.ts';
import { invalidField, KeywardenError } from '../errors/index.ts';
import { decryptSecret, encryptSecret } from '../secrets/index.ts';
import type { Repositories } from '../store/index.ts';

/**
 * `Idempotency-Key` for mutations that mint keys (create, rotate): a retried request gets the
 * first answer again instead of a second key. The record is written in the same transaction
 * as the change, so two concurrent retries cannot both mint. The stored answer holds the new
 * plaintext key, so it is encrypted under the master key and kept 24 hours only.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
const HEADER_PATTERN = /^[\x21-\x7e]{1,255}$/;

export interface StoredAnswer {
  status: number;
  body: unknown;
}

type Record = (tx: Repositories, answer: StoredAnswer) => Promise<void>;

let lastPurge = 0;

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
  const scope = `${request.actor?.id ?? 'anonymous'} ${request.method} ${request.url.split('?', 1)[0]}`;
  const context = `idempotency:${scope}:${header}`;
  const requestHash = createHash('sha256')
    .update(JSON.stringify(request.body ?? null))
    .digest('hex');
  const replay = async () => {
    const found = await kw.store.idempotency.find(scope, header);
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
    return {
      status: found.status,
      body: JSON.parse(decryptSecret(kw.secrets.masterKey, found.response, context)),
      replayed: true,
    };
  };

  const earlier = await replay();
  if (earlier) return earlier;
  const record: Record = (tx, answer) =>
    tx.idempotency.insert({
      scope,
      idempotencyKey: header,
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
