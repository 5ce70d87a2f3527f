import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Keywarden } from '../../app/index.ts';
import { budgetWarnings } from '../budget-warnings.ts';
import { ErrorResponses, OwnerParams, OwnerSchema, SetOwnerBody } from '../schemas.ts';
import { ownerToJson } from '../serialize.ts';

/** Owners' shared limits and credits. An owner id is whatever keys carry as `ownerId`. */
export function ownerRoutes(kw: Keywarden): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['owners'];

    app.get(
      '/v1/owners',
      {
        config: { managementScope: 'owners:read' },
        schema: {
          tags,
          summary: 'Owners with shared limits or credits',
          querystring: Type.Object(
            {
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
              after: Type.Optional(Type.String({ maxLength: 200 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ data: Type.Array(OwnerSchema) }), ...ErrorResponses },
        },
      },
      async (request) => ({
        data: (await kw.ownerService.list(request.query.limit ?? 50, request.query.after)).map(
          ownerToJson,
        ),
      }),
    );

    app.get(
      '/v1/owners/:id',
      {
        config: { managementScope: 'owners:read' },
        schema: {
          tags,
          summary: "An owner's shared limits and credits",
          params: OwnerParams,
          response: { 200: OwnerSchema, ...ErrorResponses },
        },
      },
      async (request) => ownerToJson(await kw.ownerService.get(request.params.id)),
    );

    app.put(
      '/v1/owners/:id',
      {
        config: { managementScope: 'owners:write' },
        schema: {
          tags,
          summary: "Set an owner's shared limits and/or credits (fields not given are kept)",
          params: OwnerParams,
          body: SetOwnerBody,
          response: { 200: OwnerSchema, ...ErrorResponses },
        },
      },
      async (request) => {
        const owner = await kw.ownerService.set(request.params.id, request.body, request.actor!);
        // An owner has no model allowlist: its keys' requests may name any model.
        return { ...ownerToJson(owner), ...budgetWarnings(kw, owner.budgets, null) };
      },
    );

    app.delete(
      '/v1/owners/:id',
      {
        config: { managementScope: 'owners:write' },
        schema: {
          tags,
          summary: "Remove an owner's shared limits and credits",
          params: OwnerParams,
          response: { 204: Type.Null(), ...ErrorResponses },
        },
      },
      async (request, reply) => {
        await kw.ownerService.delete(request.params.id, request.actor!);
        return reply.code(204).send(null);
      },
    );
  };
}
