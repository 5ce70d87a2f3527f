import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { redactSecrets, redactUrl } from '@keywarden/core';
import { Type } from 'typebox';
import type { Keywarden } from '../../app/index.ts';
import { invalidField, KeywardenError } from '../../errors/index.ts';
import { GITHUB_ACTOR, type LeakReport } from '../../leaks/index.ts';
import { ErrorResponses } from '../schemas.ts';

const MAX_REPORTS = 1000;

function parseReports(body: Buffer): LeakReport[] {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new KeywardenError('INVALID_JSON');
  }
  if (!Array.isArray(value))
    throw invalidField('body', 'must be an array of { token, type, url, source }');
  if (value.length > MAX_REPORTS)
    throw invalidField('body', `at most ${MAX_REPORTS} tokens per request`);
  return value.map((item, i) => {
    const r = item as Record<string, unknown>;
    for (const field of ['token', 'type', 'url', 'source'] as const) {
      if (typeof r?.[field] !== 'string')
        throw invalidField(`body/${i}/${field}`, 'must be a string');
    }
    // Only the token is the secret (the service keeps its hash); the rest is descriptive
    // text that is stored as given, so a key quoted in it is redacted first.
    return {
      token: String(r.token),
      type: redactSecrets(String(r.type)),
      url: redactUrl(String(r.url)),
      source: redactSecrets(String(r.source)),
    };
  });
}

/**
 * GitHub secret-scanning partner endpoint. GitHub POSTs tokens matching keywarden's pattern
 * that it found in public code, signed with its ECDSA key. Only a valid signature over the
 * exact raw body is accepted; then each keywarden key found is revoked (per project policy),
 * recorded and audited, and GitHub gets a label per token.
 */
export function leakRoutes(kw: Keywarden): FastifyPluginAsyncTypebox {
  return async (app) => {
    // The signature covers the raw bytes: keep them, parse only after verifying.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: 1024 * 1024 },
      (_req, body, done) => done(null, body),
    );

    app.post(
      '/v1/leaks/github',
      {
        schema: {
          tags: ['leaks'],
          summary: 'GitHub secret scanning alerts (signed by GitHub)',
          security: [],
          response: {
            200: Type.Array(
              Type.Object({
                token_hash: Type.String(),
                token_type: Type.String(),
                label: Type.Union([Type.Literal('true_positive'), Type.Literal('false_positive')]),
              }),
            ),
            ...ErrorResponses,
          },
        },
      },
      async (request) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const identifier = request.headers['github-public-key-identifier'];
        const signature = request.headers['github-public-key-signature'];
        const valid = await kw.githubKeyring.verify(
          typeof identifier === 'string' ? identifier : undefined,
          typeof signature === 'string' ? signature : undefined,
          body,
        );
        if (!valid) {
          request.log.warn(
            { identifier },
            'GitHub secret scanning request with a missing or invalid signature: ignored',
          );
          throw new KeywardenError('INVALID_SIGNATURE');
        }
        const verdicts = await kw.leaks.report(parseReports(body), 'github', {
          ...GITHUB_ACTOR,
          ip: request.clientIp,
          requestId: String(request.id),
        });
        return verdicts.map((v) => ({
          token_hash: v.tokenHash,
          token_type: v.tokenType,
          label: v.label,
        }));
      },
    );
  };
}
