import { generateKey } from '@keywarden/core';
import { type Keywarden, openKeywarden } from '../../packages/server/src/app/index.ts';
import { CLI_ACTOR } from '../../packages/server/src/audit/index.ts';
import { loadConfig } from '../../packages/server/src/config/index.ts';
import { createLogger } from '../../packages/server/src/log/index.ts';
import { makeTempDir } from '../lib/cleanup.ts';
import { summarize } from '../lib/stats.ts';
import type { Row, Scenario } from '../lib/types.ts';

/**
 * A key guesser: a flood of distinct forged keys (checksum valid, never issued) from one
 * network (/24), against a node with the unknown-key guard (key filter + per-network budget)
 * and one without. The figure is store lookups per request; target: the guard costs the store
 * ≤ 1% of the lookups it costs without. Each round also checks that a key created in the
 * middle of the flood verifies on its first use from the flooding network.
 *
 * In process, on SQLite; the flood is sent in waves of concurrent verifications (a refused
 * lookup is held up to 250 ms for its key's creation message, so sequential calls would
 * measure the hold, not the store).
 */
const TITLE = 'key guessing (forged keys, one network)';
const TARGET_RATIO = 0.01;
const WAVE = 2000;

async function flood(kw: Keywarden, requests: number): Promise<{ lookups: number }> {
  let lookups = 0;
  const original = kw.store.keys.findByHash;
  kw.store.keys.findByHash = (hash) => {
    lookups++;
    return original(hash);
  };
  try {
    let sent = 0;
    let checked = false;
    while (sent < requests) {
      const wave = Math.min(WAVE, requests - sent);
      const verdicts = await Promise.all(
        Array.from({ length: wave }, (_, i) =>
          kw.verifier.verify({
            key: generateKey({ prefix: 'kw', env: 'prod' }),
            clientIp: `203.0.113.${(sent + i) % 250}`,
          }),
        ),
      );
      if (verdicts.some((v) => v.code !== 'NOT_FOUND')) throw new Error('a forged key verified');
      sent += wave;
      if (!checked && sent >= requests / 2) {
        checked = true;
        const { plaintext } = await kw.keys.create({ name: 'created mid-flood' }, CLI_ACTOR);
        const first = await kw.verifier.verify({ key: plaintext, clientIp: '203.0.113.77' });
        if (first.code !== 'VALID') throw new Error(`a new key's first use: ${first.code}`);
      }
    }
  } finally {
    kw.store.keys.findByHash = original;
  }
  // The new key's own lookup is not the guesser's.
  return { lookups: Math.max(0, lookups - 1) };
}

export const keyGuessing: Scenario = {
  id: 'guessing',
  title: TITLE,
  async run(ctx) {
    const requests = ctx.settings.quick ? 6000 : 20_000;
    const rounds = ctx.settings.quick ? 1 : 3;
    const open = (guard: 'on' | 'off') => {
      const env: NodeJS.ProcessEnv = { KEYWARDEN_UNKNOWN_KEY_GUARD: guard };
      const config = loadConfig(env, { dataDir: makeTempDir(`guess-${guard}`), logLevel: 'warn' });
      return openKeywarden(config, { env, logger: createLogger({ level: 'warn' }) });
    };
    const perRequest: Record<'on' | 'off', number[]> = { on: [], off: [] };
    const seconds: number[] = [];
    for (const guard of ['off', 'on'] as const) {
      for (let round = 0; round < rounds; round++) {
        const kw = await open(guard);
        try {
          ctx.log(
            `${TITLE}: guard ${guard}, ${requests} forged keys, round ${round + 1}/${rounds}`,
          );
          const started = performance.now();
          const { lookups } = await flood(kw, requests);
          if (guard === 'on') seconds.push((performance.now() - started) / 1000);
          perRequest[guard].push(lookups / requests);
        } finally {
          await kw.close();
        }
      }
    }
    const without = summarize(perRequest.off);
    const withGuard = summarize(perRequest.on);
    const ratio = without.median === 0 ? 0 : withGuard.median / without.median;
    const base: Row = {
      scenario: TITLE,
      subject: 'no guard (before): every forged key looked up',
      metric: `store lookups per request, ${requests} keys`,
      unit: '×',
      stats: without,
    };
    return [
      base,
      {
        scenario: TITLE,
        subject: 'key filter + per-network budget (20 per 4 s)',
        metric: base.metric,
        unit: '×',
        stats: withGuard,
        baseline: { subject: base.subject, ratio },
        target: { label: '≤ 1% of the lookups without', met: ratio <= TARGET_RATIO },
        note: `flood of ${requests} took ${summarize(seconds).median.toFixed(1)} s; a key created mid-flood verified on first use`,
      },
    ];
  },
};
