import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Keywarden } from '../../app/index.ts';
import {
  CreateUpstreamBody,
  ErrorResponses,
  IdParams,
  UpdateUpstreamBody,
  UpstreamSchema,
} from '../schemas.ts';
import { upstreamToJson } from '../serialize.ts';

/**
 * Gateway upstreams. The secret is write-only: it goes in on create or PATCH (a new value
 * rotates it, null removes it) and never comes out; answers say `hasSecret` and `secretHint`.
 */
export function upstreamRoutes(kw: Keywarden): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['upstreams'];

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
      async (request) =>
        upstreamToJson(await kw.upstreams.update(request.params.id, request.body, request.actor!)),
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
