import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics, one registry per node (not prom-client's global one, so several nodes
 * can live in one process in tests). Labels are bounded sets — outcome codes and entry
 * points — never a key, a key id or anything a caller controls.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly verifications = new Counter({
    name: 'keywarden_verifications_total',
    help: 'Verifications by entry point and outcome code',
    labelNames: ['entry_point', 'code'] as const,
    registers: [this.registry],
  });
  readonly verifySeconds = new Histogram({
    name: 'keywarden_verify_duration_seconds',
    help: 'Time spent in the verification pipeline (cache hits are microseconds)',
    labelNames: ['entry_point'] as const,
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
    registers: [this.registry],
  });

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
