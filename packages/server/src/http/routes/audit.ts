import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Keywarden } from '../../app/index.ts';
import { KeywardenError } from '../../errors/index.ts';
import { parseTimestamp } from '../../keys/index.ts';
import { AuditPage, ErrorResponses, ListAuditQuery } from '../schemas.ts';
import { auditToJson, decodeCursor, encodeCursor } from '../serialize.ts';

export function auditRoutes(kw: Keywarden): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/audit',
      {
        config: { managementScope: 'audit:read' },
        schema: {
          tags: ['audit'],
          summary: 'Audit log, newest first',
          querystring: ListAuditQuery,
          response: { 200: AuditPage, ...ErrorResponses },
        },
      },
      async (request) => {
        const { cursor, limit = 100, from, to, ...filters } = request.query;
        const decoded = cursor === undefined ? undefined : Number(decodeCursor(cursor));
        if (decoded !== undefined && !(Number.isSafeInteger(decoded) && decoded > 0)) {
          throw new KeywardenError('INVALID_CURSOR');
        }
        const entries = await kw.store.audit.list({
          ...filters,
          from: parseTimestamp('query/from', from) ?? undefined,
          to: parseTimestamp('query/to', to) ?? undefined,
          beforeSeq: decoded,
          limit: limit + 1,
        });
        const page = entries.slice(0, limit);
        return {
          data: page.map(auditToJson),
          nextCursor: entries.length > limit ? encodeCursor(page[page.length - 1]!.seq) : null,
        };
      },
    );
  };
}
