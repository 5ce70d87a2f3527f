import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Keywarden } from '../../app/index.ts';
import { KeywardenError } from '../../errors/index.ts';
import { type BulkFilter, parseTimestamp } from '../../keys/index.ts';
import type { KeyRecord } from '../../store/index.ts';
import { budgetWarnings } from '../budget-warnings.ts';
import { idempotent, type StoredAnswer } from '../idempotency.ts';
import {
  BulkRevokeBody,
  BulkRotateBody,
  CreatedKeySchema,
  CreateKeyBody,
  ErrorResponses,
  IdParams,
  KeyPage,
  KeySchema,
  ListKeysQuery,
  RevokeKeyBody,
  RotateKeyBody,
  UpdateKeyBody,
} from '../schemas.ts';
import { decodeCursor, encodeCursor, keyToJson } from '../serialize.ts';

/** With `kw` (a new key's settings): the budget warnings too. */
function createdToJson(record: KeyRecord, plaintext: string, kw?: Keywarden) {
  return {
    ...keyToJson(record),
    ...(kw && budgetWarnings(kw, record.budgets, record.models)),
    key: plaintext,
  };
}

function sendAnswer(reply: FastifyReply, answer: StoredAnswer & { replayed: boolean }) {
  if (answer.replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(answer.status).header('cache-control', 'no-store').send(answer.body);
}

const DURATION = /^(\d{1,4})([dh])$/;

/** `rotationDue`: an ISO time, `now`, or a horizon like `14d` / `12h` from now. */
function parseDueBy(text: string, nowMs: number): number {
  if (text === 'now') return nowMs;
  const duration = DURATION.exec(text);
  if (duration) return nowMs + Number(duration[1]) * (duration[2] === 'd' ? 86_400_000 : 3_600_000);
  const at = parseTimestamp('querystring/rotationDue', text);
  if (at === null || at === undefined) throw new KeywardenError('VALIDATION_FAILED');
  return at;
}

async function bulkFilter(
  kw: Keywarden,
  filter: { project?: string; env?: string; ownerId?: string; createdBefore?: string },
): Promise<BulkFilter> {
  return {
    projectId: filter.project ? (await kw.projects.get(filter.project)).id : undefined,
    env: filter.env,
    ownerId: filter.ownerId,
    createdBefore: parseTimestamp('/filter/createdBefore', filter.createdBefore) ?? undefined,
  };
}

const BulkResult = Type.Object({
  dryRun: Type.Boolean(),
  count: Type.Integer(),
  keys: Type.Array(KeySchema),
  created: Type.Optional(Type.Array(CreatedKeySchema)),
});

/** Key management: thin handlers that parse, call the key service, and map to HTTP. */
export function keyRoutes(kw: Keywarden): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['keys'];

    app.post(
      '/v1/keys',
      {
        config: { managementScope: 'keys:write' },
        schema: {
          tags,
          summary: 'Create a key (the plaintext is in this response only)',
          body: CreateKeyBody,
          response: { 201: CreatedKeySchema, ...ErrorResponses },
        },
      },
      async (request, reply) => {
        const { expiresAt, ...rest } = request.body;
        const answer = await idempotent(kw, request, async (record) => {
          const created = await kw.keys.create(
            { ...rest, expiresAt: parseTimestamp('/expiresAt', expiresAt) },
            request.actor!,
            'api',
            record &&
              ((tx, c) =>
                record(tx, { status: 201, body: createdToJson(c.record, c.plaintext, kw) })),
          );
          return { status: 201, body: createdToJson(created.record, created.plaintext, kw) };
        });
        return sendAnswer(reply, answer);
      },
    );

    app.get(
      '/v1/keys',
      {
        config: { managementScope: 'keys:read' },
        schema: {
          tags,
          summary: 'List keys, newest first',
          querystring: ListKeysQuery,
          response: { 200: KeyPage, ...ErrorResponses },
        },
      },
      async (request) => {
        const { project, cursor, limit = 50, rotationDue, ...filters } = request.query;
        if (rotationDue !== undefined) {
          // Due keys are few and sorted by deadline: one page, no cursor.
          const projectId = project ? (await kw.projects.get(project)).id : undefined;
          const due = await kw.rotation.listRotationDue(parseDueBy(rotationDue, kw.clock.now()), {
            projectId,
            limit,
          });
          return { data: due.map(({ key }) => keyToJson(key)), nextCursor: null };
        }
        const beforeId = cursor === undefined ? undefined : decodeCursor(cursor);
        if (beforeId === null || (beforeId !== undefined && !beforeId.startsWith('key_'))) {
          throw new KeywardenError('INVALID_CURSOR');
        }
        const projectId = project ? (await kw.projects.get(project)).id : undefined;
        const keys = await kw.keys.list({
          ...filters,
          projectId,
          kind: 'api',
          beforeId,
          limit: limit + 1,
        });
        const page = keys.slice(0, limit);
        return {
          data: page.map(keyToJson),
          nextCursor: keys.length > limit ? encodeCursor(page[page.length - 1]!.id) : null,
        };
      },
    );

    app.get(
      '/v1/keys/:id',
      {
        config: { managementScope: 'keys:read' },
        schema: {
          tags,
          summary: 'Get a key',
          params: IdParams,
          response: { 200: KeySchema, ...ErrorResponses },
        },
      },
      async (request) => keyToJson(await kw.keys.get(request.params.id)),
    );

    app.patch(
      '/v1/keys/:id',
      {
        config: { managementScope: 'keys:write' },
        schema: {
          tags,
          summary: 'Update a key',
          params: IdParams,
          body: UpdateKeyBody,
          response: { 200: KeySchema, ...ErrorResponses },
        },
      },
      async (request) => {
        const { expiresAt, ...rest } = request.body;
        const input =
          expiresAt === undefined
            ? rest
            : { ...rest, expiresAt: parseTimestamp('/expiresAt', expiresAt) };
        const updated = await kw.keys.update(request.params.id, input, request.actor!);
        return { ...keyToJson(updated), ...budgetWarnings(kw, updated.budgets, updated.models) };
      },
    );

    app.delete(
      '/v1/keys/:id',
      {
        config: { managementScope: 'keys:write' },
        schema: {
          tags,
          summary: 'Delete a key for good',
          params: IdParams,
          response: { 204: Type.Null(), ...ErrorResponses },
        },
      },
      async (request, reply) => {
        await kw.keys.delete(request.params.id, request.actor!);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/keys/:id/revoke',
      {
        config: { managementScope: 'keys:write' },
        schema: {
          tags,
          summary: 'Revoke a key, at once and for good',
          params: IdParams,
          body: Type.Optional(RevokeKeyBody),
          response: { 200: KeySchema, ...ErrorResponses },
        },
      },
      async (request) =>
        keyToJson(await kw.keys.revoke(request.params.id, request.actor!, request.body?.reason)),
    );

    app.post(
      '/v1/keys/:id/rotate',
      {
        config: { managementScope: 'keys:write' },
        schema: {
          tags,
          summary:
            'Rotate a key: a new key with the same settings; the old one works until the grace period ends',
          params: IdParams,
          body: Type.Optional(RotateKeyBody),
          response: { 200: CreatedKeySchema, 201: CreatedKeySchema, ...ErrorResponses },
        },
      },
      async (request, reply) => {
        const grace = request.body?.gracePeriodSeconds ?? 0;
        const answer = await idempotent(kw, request, async (record) => {
          const rotated = await kw.rotation.rotate(
            request.params.id,
            grace,
            request.actor!,
            record &&
              ((tx, r) => record(tx, { status: 201, body: createdToJson(r.record, r.plaintext) })),
          );
          return { status: 201, body: createdToJson(rotated.record, rotated.plaintext) };
        });
        return sendAnswer(reply, answer);
      },
    );

    app.post(
      '/v1/keys/bulk/revoke',
      {
        config: { managementScope: 'keys:admin' },
        schema: {
          tags,
          summary: 'Emergency: revoke every key matching a filter (dryRun lists them)',
          body: BulkRevokeBody,
          response: { 200: BulkResult, ...ErrorResponses },
        },
      },
      async (request) => {
        const { filter, dryRun = false, reason } = request.body;
        const keys = await kw.rotation.bulkRevoke(
          await bulkFilter(kw, filter),
          { dryRun, reason },
          request.actor!,
        );
        return { dryRun, count: keys.length, keys: keys.map(keyToJson) };
      },
    );

    app.post(
      '/v1/keys/bulk/rotate',
      {
        config: { managementScope: 'keys:admin' },
        schema: {
          tags,
          summary:
            'Emergency: rotate every key matching a filter; the new keys are in this response only',
          body: BulkRotateBody,
          response: { 200: BulkResult, ...ErrorResponses },
        },
      },
      async (request, reply) => {
        const { filter, dryRun = false, gracePeriodSeconds = 0 } = request.body;
        const { keys, rotated } = await kw.rotation.bulkRotate(
          await bulkFilter(kw, filter),
          { dryRun, gracePeriodSeconds },
          request.actor!,
        );
        reply.header('cache-control', 'no-store');
        return dryRun
          ? { dryRun, count: keys.length, keys: keys.map(keyToJson) }
          : {
              dryRun,
              count: rotated.length,
              keys: rotated.map((r) => keyToJson(r.previous)),
              created: rotated.map((r) => createdToJson(r.record, r.plaintext)),
            };
      },
    );

    for (const action of ['disable', 'enable'] as const) {
      app.post(
        `/v1/keys/:id/${action}`,
        {
          config: { managementScope: 'keys:write' },
          schema: {
            tags,
            summary: `${action === 'disable' ? 'Disable' : 'Re-enable'} a key`,
            params: IdParams,
            response: { 200: KeySchema, ...ErrorResponses },
          },
        },
        async (request) =>
          keyToJson(
            await kw.keys.setEnabled(request.params.id, action === 'enable', request.actor!),
          ),
      );
    }
  };
}
