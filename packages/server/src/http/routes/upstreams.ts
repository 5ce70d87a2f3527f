import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { hasScopes } from '@keywarden/core';
import { Type } from 'typebox';
import type { Keywarden } from '../../app/index.ts';
import { sendProblem } from '../problem.ts';
import {
  CreateUpstreamBody,
  ErrorResponses,
  IdParams,
  UpdateUpstreamBody,
  UpstreamSchema,
} from '../schemas.ts';
import { upstreamToJson } from '../serialize.ts';

/** Moving an upstream's secret to another origin without supplying it again. */
const KEEP_SECRET_SCOPE = 'upstreams:admin';

/**
 * Gateway upstreams. The secret is write-only: it goes in on create or PATCH (a new value
 * rotates it, null removes it) and never comes out; answers say `hasSecret` and `secretHint`.
 */
export function upstreamRoutes(kw: Keywarden): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['upstreams'];
    // Where this node really listens (port 0 becomes a port here): an upstream there is a loop.
    app.addHook('onListen', async () => {
      kw.upstreamHosts.listeningOn(app.server.address());
      for (const refused of await kw.upstreams.refusedByHostPolicy())
        app.log.warn(
          { upstream: refused.name, host: refused.host, reason: refused.reason },
          refused.tolerated
            ? `upstream ${refused.name}: the host policy refuses ${refused.host} (${refused.reason}); it keeps working until its base URL is changed`
            : `upstream ${refused.name}: the host policy refuses ${refused.host} (${refused.reason}); every request to it fails until its base URL is changed`,
        );
    });

    app.post(
      '/v1/upstreams',
      {
        config: { managementScope: 'upstreams:write' },
        schema: {
          tags,
          summary: 'Create an upstream for the gateway (/gw/{name}/…)',
          body: CreateUpstreamBody,
          response: { 201: UpstreamSchema, ...ErrorResponses },
        },
      },
      async (request, reply) =>
        reply
          .code(201)
          .send(upstreamToJson(await kw.upstreams.create(request.body, request.actor!))),
    );

    app.get(
      '/v1/upstreams',
      {
        config: { managementScope: 'upstreams:read' },
        schema: {
          tags,
          summary: 'List upstreams by name',
          response: { 200: Type.Object({ data: Type.Array(UpstreamSchema) }), ...ErrorResponses },
        },
      },
      async () => ({ data: (await kw.upstreams.list()).map(upstreamToJson) }),
    );

    app.get(
      '/v1/upstreams/:id',
      {
        config: { managementScope: 'upstreams:read' },
        schema: {
          tags,
          summary: 'Get an upstream by id or name',
          params: IdParams,
          response: { 200: UpstreamSchema, ...ErrorResponses },
        },
      },
      async (request) => upstreamToJson(await kw.upstreams.get(request.params.id)),
    );

    app.patch(
      '/v1/upstreams/:id',
      {
        config: { managementScope: 'upstreams:write' },
        schema: {
          tags,
          summary: 'Update an upstream; `secret` replaces the secret (rotation without downtime)',
          params: IdParams,
          body: UpdateUpstreamBody,
          response: { 200: UpstreamSchema, ...ErrorResponses },
        },
      },
      async (request, reply) => {
        const { keepSecretOnOriginChange, ...input } = request.body;
        if (keepSecretOnOriginChange === true) {
          const caller = await kw.store.keys.findById(request.actor!.id);
          if (!caller || !hasScopes(caller.scopes, [KEEP_SECRET_SCOPE]))
            return sendProblem(
              reply,
              'INSUFFICIENT_SCOPE',
              `keepSecretOnOriginChange needs the management scope ${KEEP_SECRET_SCOPE}`,
              [{ field: '/keepSecretOnOriginChange', message: `needs ${KEEP_SECRET_SCOPE}` }],
            );
        }
        return upstreamToJson(
          await kw.upstreams.update(request.params.id, input, request.actor!, {
            keepSecretOnOriginChange,
          }),
        );
      },
    );

    app.delete(
      '/v1/upstreams/:id',
      {
        config: { managementScope: 'upstreams:write' },
        schema: {
          tags,
          summary: 'Delete an upstream',
          params: IdParams,
          response: { 204: Type.Null(), ...ErrorResponses },
        },
      },
      async (request, reply) => {
        await kw.upstreams.delete(request.params.id, request.actor!);
        return reply.code(204).send(null);
      },
    );
  };
}
