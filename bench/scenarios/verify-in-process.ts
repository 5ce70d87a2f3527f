import { generateKey } from '@keywarden/core';
import { openKeywarden } from '../../packages/server/src/app/index.ts';
import { CLI_ACTOR } from '../../packages/server/src/audit/index.ts';
import { loadConfig } from '../../packages/server/src/config/index.ts';
import { createLogger } from '../../packages/server/src/log/index.ts';
import { makeTempDir } from '../lib/cleanup.ts';
import { measureInterleaved, type Subject } from '../lib/ops.ts';
import type { Row, Scenario } from '../lib/types.ts';
import { compared } from '../lib/types.ts';

/**
 * The verifier against its floor. Verifying a cached key must hash it (the cache is keyed by
 * the HMAC, never the plaintext), so HMAC-SHA256 of the key is the least any verify can cost;
 * everything above it — checksum, cache lookup, the decisions, last-used bookkeeping, the
 * promise — is overhead we own. Target: verify ≥ 50% of the floor's rate.
 *
 * Runs in the bench's own process while no server or load generator is running, so that it
 * has a core to itself.
 */

const TITLE = 'in-process verify';
const FLOOR = 'bare keyed hash (HMAC-SHA256)';
const TARGET = 0.5;

export const verifyInProcess: Scenario = {
  id: 'verify',
  title: TITLE,
  async run(ctx) {
    const env: NodeJS.ProcessEnv = {};
    const config = loadConfig(env, { dataDir: makeTempDir('verify'), logLevel: 'warn' });
    const kw = await openKeywarden(config, { env, logger: createLogger({ level: 'warn' }) });
    try {
      const { plaintext: valid } = await kw.keys.create(
        { name: 'bench', scopes: ['billing:read'], env: 'prod' },
        CLI_ACTOR,
      );
      // Well-formed, checksum right, never created: exercises the negative cache.
      const unknown = generateKey({ prefix: 'kw', env: 'prod' });
      // Right shape, wrong checksum: the most expensive way to be malformed (regex + CRC).
      const last = valid.at(-1) === 'A' ? 'B' : 'A';
      const malformed = `${valid.slice(0, -1)}${last}`;

      // What forward-auth asks for a route that needs billing:read in prod, minus the usage
      // record (the HTTP scenario includes it): the pipeline itself, not the metering.
      const verify = (key: string, expected: string) => async () => {
        const result = await kw.verifier.verify({
          key,
          requiredScopes: ['billing:read'],
          env: 'prod',
          clientIp: '127.0.0.1',
        });
        // Checked on every call: a bench that silently measures the wrong path is worse than none.
        if (result.code !== expected)
          throw new Error(`verify: expected ${expected}, got ${result.code}`);
      };
      const subjects: Subject[] = [
        { name: FLOOR, call: () => kw.hasher.hash(valid), async: false },
        { name: 'verify, cached valid key', call: verify(valid, 'VALID'), async: true },
        {
          name: 'verify, unknown key (negative cache)',
          call: verify(unknown, 'NOT_FOUND'),
          async: true,
        },
        {
          name: 'verify, malformed key (bad checksum)',
          call: verify(malformed, 'MALFORMED'),
          async: true,
        },
      ];
      const { rounds, roundMs, warmupMs } = ctx.settings;
      ctx.log(
        `${TITLE}: ${subjects.length} subjects × (${warmupMs} ms warm-up + ${rounds} × ${roundMs} ms)`,
      );
      const results = await measureInterleaved(subjects, { rounds, roundMs, warmupMs });

      const row = (subject: string): Omit<Row, 'baseline' | 'target'> => ({
        scenario: TITLE,
        subject,
        metric: 'calls/s, 1 caller',
        unit: 'ops/s',
        stats: results.get(subject)!,
      });
      const floor: Row = row(FLOOR);
      return [
        floor,
        compared(row('verify, cached valid key'), floor, TARGET),
        compared(row('verify, unknown key (negative cache)'), floor),
        compared(row('verify, malformed key (bad checksum)'), floor),
      ];
    } finally {
      await kw.close();
    }
  },
};
