import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { parseTimestamp } from '../../keys/index.ts';
import { formatUsd } from '../../money/index.ts';
import type { UsageService } from '../../usage/index.ts';
import { VERIFY_CODES, type VerifyCode } from '../../verify/index.ts';
import { ErrorResponses } from '../schemas.ts';

const Timestamp = Type.String({ format: 'date-time' });
const Granularity = Type.Union([Type.Literal('minute'), Type.Literal('hour'), Type.Literal('day')]);
const Outcome = Type.Unsafe<VerifyCode>({ type: 'string', enum: [...VERIFY_CODES] });

export const UsageQuerystring = Type.Object(
  {
    keyId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    ownerId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    projectId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    project: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'A project by id or name (as `keys list` takes it); 404 when there is none',
      }),
    ),
    env: Type.Optional(Type.String({ pattern: '^[a-z]{2,10}$' })),
    outcome: Type.Optional(Outcome),
    from: Type.Optional(
      Type.String({ format: 'date-time', description: 'Inclusive; default `to` minus 24 h' }),
    ),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive; default now' })),
    granularity: Type.Optional(Granularity),
    groupBy: Type.Optional(Type.Literal('outcome')),
  },
  { additionalProperties: false },
);

export const UsageReportSchema = Type.Object(
  {
    granularity: Granularity,
    from: Timestamp,
    to: Timestamp,
    data: Type.Array(
      Type.Object({
        start: Timestamp,
        outcome: Type.Optional(Outcome),
        count: Type.Integer(),
        cost: Type.Integer({ description: 'Credits spent (not money)' }),
        tokensIn: Type.Integer(),
        tokensOut: Type.Integer(),
        costMicros: Type.Integer({
          description: 'Money in millionths of a dollar (exact), priced calls only',
        }),
        costUsd: Type.String({
          pattern: '^\\d+\\.\\d{6}$',
          description: 'The same money as an exact decimal string, e.g. "0.000012"',
        }),
        unpriced: Type.Integer({
          description:
            'Calls whose model has no price: their tokens are counted, their cost is unknown and not in costMicros',
        }),
        latencyMsAvg: Type.Number(),
      }),
    ),
  },
  { $id: 'UsageReport' },
);

/**
 * Usage over time from the roll-ups: buckets starting in `[from, to)` that saw events, at
 * most 1,440 of them. The caller's management key needs `usage:read`.
 */
export function usageRoutes(
  usage: UsageService,
  projects?: { get(ref: string): Promise<{ id: string }> },
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/usage',
      {
        config: { managementScope: 'usage:read' },
        schema: {
          tags: ['usage'],
          summary: 'Verifications, cost and tokens per time bucket',
          querystring: UsageQuerystring,
          response: { 200: UsageReportSchema, ...ErrorResponses },
        },
      },
      async (request) => {
        const { from, to, project, ...rest } = request.query;
        // A name is resolved as `keys list` resolves it; an unknown project is a 404, not "(none)".
        const projectId =
          project === undefined
            ? rest.projectId
            : projects
              ? (await projects.get(project)).id
              : project;
        const report = await usage.report({
          ...rest,
          ...(projectId !== undefined && { projectId }),
          from: parseTimestamp('query/from', from) ?? undefined,
          to: parseTimestamp('query/to', to) ?? undefined,
        });
        return {
          granularity: report.granularity,
          from: new Date(report.from).toISOString(),
          to: new Date(report.to).toISOString(),
          data: report.buckets.map(({ bucketStart, ...bucket }) => ({
            start: new Date(bucketStart).toISOString(),
            ...bucket,
            costUsd: formatUsd(bucket.costMicros),
          })),
        };
      },
    );
  };
}
