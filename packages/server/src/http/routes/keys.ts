import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Keywarden } from '../../app/index.ts';
import { KeywardenError } from '../../errors/index.ts';
import { parseTimestamp } from '../../keys/index.ts';
import {
  CreatedKeySchema,
  CreateKeyBody,
  ErrorResponses,
  IdParams,
  KeyPage,
  KeySchema,
  ListKeysQuery,
  RevokeKeyBody,
  UpdateKeyBody,
} from '../schemas.ts';
import { decodeCursor, encodeCursor, keyToJson } from '../serialize.ts';

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
        const created = await kw.keys.create(
          { ...rest, expiresAt: parseTimestamp('/expiresAt', expiresAt) },
          request.actor!,
        );
        return reply
          .code(201)
          .header('cache-control', 'no-store')
          .send({ ...keyToJson(created.record), key: created.plaintext });
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
        const { project, cursor, limit = 50, ...filters } = request.query;
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
        return keyToJson(await kw.keys.update(request.params.id, input, request.actor!));
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
