import { openKeywarden } from '../../packages/server/src/app/index.ts';
import { CLI_ACTOR } from '../../packages/server/src/audit/index.ts';
import { loadConfig } from '../../packages/server/src/config/index.ts';
import { createLogger } from '../../packages/server/src/log/index.ts';
import { makeTempDir } from '../lib/cleanup.ts';
import { measureInterleaved, type Subject } from '../lib/ops.ts';
import { summarize } from '../lib/stats.ts';
import type { Row, Scenario } from '../lib/types.ts';
import { compared } from '../lib/types.ts';

/**
 * What rate limits and usage metering cost on the verification path, and how fast usage
 * events reach the store. Both sides run the same pipeline in one process on one SQLite
 * store; the only difference is the key's two named limits and the usage record (with its
 * batched writes to SQLite, which run on the same event loop and are included).
 * Target: with limits and metering ≥ 0.8 of without.
 */
const TITLE = 'limits + usage';
const BASE = 'verify, no limits, no usage record';
const TARGET = 0.8;

export const limitsAndUsage: Scenario = {
  id: 'limits',
  title: TITLE,
  async run(ctx) {
    const env: NodeJS.ProcessEnv = {};
    // The ingestion round fills the buffer on purpose: its back-pressure warnings are expected.
    const config = loadConfig(env, { dataDir: makeTempDir('limits'), logLevel: 'error' });
    const kw = await openKeywarden(config, { env, logger: createLogger({ level: 'error' }) });
    try {
      const plain = (
        await kw.keys.create({ name: 'plain', scopes: ['billing:read'], env: 'prod' }, CLI_ACTOR)
      ).plaintext;
      const limited = (
        await kw.keys.create(
          {
            name: 'limited',
            scopes: ['billing:read'],
            env: 'prod',
            // Generous: every call is admitted, so both sides do the same work after the limiter.
            ratelimits: [
              { name: 'requests', limit: 1_000_000_000, windowSeconds: 60 },
              { name: 'burst', limit: 100_000_000, windowSeconds: 1 },
            ],
          },
          CLI_ACTOR,
        )
      ).plaintext;
      // Both sides build the same request object (a conditional spread here would cost the
      // metered side alone: it is the bench's work, not the verifier's).
      const requiredScopes = ['billing:read'];
      const usage = { entryPoint: 'verify' as const, route: 'GET /orders', userAgent: 'bench' };
      const call = (key: string, metered: boolean) => async () => {
        const result = await kw.verifier.verify({
          key,
          requiredScopes,
          env: 'prod',
          clientIp: '127.0.0.1',
          usage: metered ? usage : undefined,
        });
        if (!result.valid) throw new Error(`limits bench: ${result.code}`);
      };
      const WITH = 'verify, 2 rate limits + usage record';
      const subjects: Subject[] = [
        { name: BASE, call: call(plain, false), async: true },
        { name: WITH, call: call(limited, true), async: true },
      ];
      const { rounds, roundMs, warmupMs } = ctx.settings;
      ctx.log(`${TITLE}: ${subjects.length} subjects × ${rounds} rounds`);
      const results = await measureInterleaved(subjects, { rounds, roundMs, warmupMs });
      await kw.usage.flush();

      // Ingestion: N events recorded as fast as the recorder takes them, then flushed; the
      // count in the store must be exactly N (zero loss), and the rate is N / elapsed. Each
      // event differs from the one before it (its route), so none folds into its neighbour's
      // row: the writer's worst case, not the repeats of real traffic.
      const routes = Array.from({ length: 100 }, (_, i) => `GET /orders/${i}`);
      const n = ctx.settings.quick ? 50_000 : 200_000;
      const rates: number[] = [];
      let lost = 0;
      for (let round = 0; round < (ctx.settings.quick ? 1 : 3); round++) {
        const keyId = `key_bench${round}${Date.now()}`;
        const started = performance.now();
        for (let i = 0; i < n; i++) {
          const wait = kw.usage.record({
            at: Date.now(),
            keyId,
            projectId: null,
            ownerId: null,
            env: 'prod',
            outcome: 'VALID',
            entryPoint: 'verify',
            route: routes[i % routes.length]!,
            status: 200,
            latencyMs: 0.01,
            clientIp: '127.0.0.1',
            userAgent: 'bench',
            cost: 1,
            tokensIn: null,
            tokensOut: null,
            costMicros: null,
          });
          if (wait) await wait;
        }
        await kw.usage.flush();
        rates.push(n / ((performance.now() - started) / 1000));
        lost += n - (await kw.store.usage.countEvents({ keyId }));
      }
      const base: Row = {
        scenario: TITLE,
        subject: BASE,
        metric: 'calls/s, 1 caller',
        unit: 'ops/s',
        stats: results.get(BASE)!,
      };
      return [
        base,
        compared(
          {
            scenario: TITLE,
            subject: WITH,
            metric: 'calls/s, 1 caller',
            unit: 'ops/s',
            stats: results.get(WITH)!,
          },
          base,
          TARGET,
        ),
        {
          scenario: TITLE,
          subject: 'usage events recorded and written to SQLite',
          metric: `events/s, ${n.toLocaleString('en')} per round, none folded`,
          unit: 'ops/s',
          stats: summarize(rates),
          note: lost === 0 ? 'zero loss: every event counted in the store' : `LOST ${lost} events`,
        },
      ];
    } finally {
      await kw.close();
    }
  },
};
