import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * Prometheus metrics, one registry per node (not prom-client's global one, so several nodes
 * can live in one process in tests). Labels are bounded sets — outcome codes and entry
 * points — never a key, a key id or anything a caller controls.
 */
export class Metrics {
  readonly registry = new Registry();
  /**
   * Verifications by entry point and code, counted in a plain map on the hot path (a
   * prom-client label lookup per request costs more than the rest of a cached verify) and
   * handed to the registry when Prometheus scrapes.
   */
  readonly #verificationCounts: Record<string, Record<string, number>> = {};
  readonly verifications = new Counter({
    name: 'keywarden_verifications_total',
    help: 'Verifications by entry point and outcome code',
    labelNames: ['entry_point', 'code'] as const,
    registers: [this.registry],
    collect: () => {
      this.verifications.reset();
      for (const [entryPoint, codes] of Object.entries(this.#verificationCounts)) {
        for (const [code, count] of Object.entries(codes)) {
          this.verifications.inc({ entry_point: entryPoint, code }, count);
        }
      }
    },
  });

  countVerification(entryPoint: string, code: string): void {
    let codes = this.#verificationCounts[entryPoint];
    if (!codes) {
      codes = {};
      this.#verificationCounts[entryPoint] = codes;
    }
    codes[code] = (codes[code] ?? 0) + 1;
  }

  readonly leaks = new Counter({
    name: 'keywarden_leaks_reported_total',
    help: 'Leaked keywarden keys reported (GitHub secret scanning, scanner), by what was done',
    labelNames: ['reporter', 'action'] as const,
    registers: [this.registry],
  });

  constructor(
    sources: {
      usage?: () => {
        buffered: number;
        flushed: number;
        backpressureWaits: number;
        flushFailures: number;
        unpriced: number;
      };
      cache?: () => { keys: number; missing: number };
    } = {},
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'keywarden_' });
    const { usage, cache } = sources;
    if (usage) {
      new Gauge({
        name: 'keywarden_usage_events_buffered',
        help: 'Usage events accepted and not yet written to the store',
        registers: [this.registry],
        collect() {
          this.set(usage().buffered);
        },
      });
      new Gauge({
        name: 'keywarden_usage_events_flushed',
        help: 'Usage events written to the store since start',
        registers: [this.registry],
        collect() {
          this.set(usage().flushed);
        },
      });
      new Gauge({
        name: 'keywarden_usage_backpressure_waits',
        help: 'Verifications that had to wait for the usage buffer to drain (events are never dropped)',
        registers: [this.registry],
        collect() {
          this.set(usage().backpressureWaits);
        },
      });
      const unpriced = new Counter({
        name: 'keywarden_gateway_unpriced_calls_total',
        help: 'Gateway calls to a model without a price: tokens recorded, cost unknown (add a price)',
        registers: [this.registry],
        collect() {
          unpriced.reset();
          unpriced.inc(usage().unpriced);
        },
      });
      new Gauge({
        name: 'keywarden_usage_flush_failures',
        help: 'Failed usage flushes since start (the events stay buffered and are retried)',
        registers: [this.registry],
        collect() {
          this.set(usage().flushFailures);
        },
      });
    }
    if (cache) {
      new Gauge({
        name: 'keywarden_key_cache_entries',
        help: 'Keys cached by this node, by kind (known keys, or keys remembered as unknown)',
        labelNames: ['kind'] as const,
        registers: [this.registry],
        collect() {
          const size = cache();
          this.set({ kind: 'known' }, size.keys);
          this.set({ kind: 'unknown' }, size.missing);
        },
      });
    }
  }
}
