import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Keywarden } from '../../app/index.ts';
import {
  CreateProjectBody,
  ErrorResponses,
  IdParams,
  ProjectSchema,
  UpdateProjectBody,
} from '../schemas.ts';
import { projectToJson } from '../serialize.ts';

export function projectRoutes(kw: Keywarden): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['projects'];

    app.post(
      '/v1/projects',
      {
        config: { managementScope: 'projects:write' },
        schema: {
          tags,
          summary: 'Create a project',
          body: CreateProjectBody,
          response: { 201: ProjectSchema, ...ErrorResponses },
        },
      },
      async (request, reply) =>
        reply.code(201).send(projectToJson(await kw.projects.create(request.body, request.actor!))),
    );

    app.get(
      '/v1/projects',
      {
        config: { managementScope: 'projects:read' },
        schema: {
          tags,
          summary: 'List projects',
          response: { 200: Type.Object({ data: Type.Array(ProjectSchema) }), ...ErrorResponses },
        },
      },
      async () => ({ data: (await kw.projects.list()).map(projectToJson) }),
    );

    app.get(
      '/v1/projects/:id',
      {
        config: { managementScope: 'projects:read' },
        schema: {
          tags,
          summary: 'Get a project by id or name',
          params: IdParams,
          response: { 200: ProjectSchema, ...ErrorResponses },
        },
      },
      async (request) => projectToJson(await kw.projects.get(request.params.id)),
    );

    app.patch(
      '/v1/projects/:id',
      {
        config: { managementScope: 'projects:write' },
        schema: {
          tags,
          summary: 'Update a project',
          params: IdParams,
          body: UpdateProjectBody,
          response: { 200: ProjectSchema, ...ErrorResponses },
        },
      },
      async (request) =>
        projectToJson(await kw.projects.update(request.params.id, request.body, request.actor!)),
    );

    app.delete(
      '/v1/projects/:id',
      {
        config: { managementScope: 'projects:write' },
        schema: {
          tags,
          summary: 'Delete an empty project',
          params: IdParams,
          response: { 204: Type.Null(), ...ErrorResponses },
        },
      },
      async (request, reply) => {
        await kw.projects.delete(request.params.id, request.actor!);
        return reply.code(204).send(null);
      },
    );
  };
}
