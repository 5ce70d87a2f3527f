import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Keywarden } from '../../app/index.ts';
import { ErrorResponses, IdParams, KeySchema, RevokeKeyBody } from '../schemas.ts';
import { keyToJson } from '../serialize.ts';

/**
 * Management keys through the API: listing them and revoking one (a leaked management key
 * must die on every node at once, like any key). Creating them stays with
 * `keywarden admin-key create`, on the store, so that no API key can mint its own superiors.
 */
export function adminKeyRoutes(kw: Keywarden): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin-keys'];
    app.get(
      '/v1/admin-keys',
      {
        config: { managementScope: 'admin' },
        schema: {
          tags,
          summary: 'List management keys',
          response: { 200: Type.Object({ data: Type.Array(KeySchema) }), ...ErrorResponses },
        },
      },
      async () => ({
        data: (await kw.store.keys.list({ kind: 'management', limit: 1000 })).map(keyToJson),
      }),
    );
    app.post(
      '/v1/admin-keys/:id/revoke',
      {
        config: { managementScope: 'admin' },
        schema: {
          tags,
          summary: 'Revoke a management key',
          params: IdParams,
          body: Type.Optional(RevokeKeyBody),
          response: { 200: KeySchema, ...ErrorResponses },
        },
      },
      async (request) =>
        keyToJson(
          await kw.keys.revoke(
            request.params.id,
            request.actor!,
            request.body?.reason,
            'management',
          ),
        ),
    );
  };
}
