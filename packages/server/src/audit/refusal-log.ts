import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../clock/index.ts';
import type { Logger } from '../log/index.ts';
import type { AuditRepository } from '../store/index.ts';
import {
  closeTally,
  REFUSAL_WINDOW_MS,
  type Refusal,
  type RefusalRow,
  type RefusalTally,
  tallyExpired,
  tallyKey,
  tallyRefusal,
} from './refusals.ts';

/**
 * Tallies of (key, route, code) kept at once. Management keys are made by admins, so the
 * real number is small; the cap only keeps a runaway from growing memory (the oldest tally is
 * closed early, its row written).
 */
const MAX_TALLIES = 10_000;
const REFUSALS_METRIC = 'keywarden_management_refusals_total';

/**
 * The shell around `tallyRefusal` (refusals.ts): holds the tallies, writes the rows it
 * decides to the audit log, counts every refusal in `keywarden_management_refusals_total`
 * (labels: route pattern and code, both bounded; never the key) and logs one warning per row
 * written, so the log is bounded exactly as the audit log is. A timer closes windows that see
 * no further refusal; `flush()` closes them all (shutdown).
 */
export class RefusalLog {
  readonly #audit: Pick<AuditRepository, 'append'>;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #windowMs: number;
  readonly #tallies = new Map<string, RefusalTally>();
  readonly #counter: Counter<'route' | 'code'>;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: {
    audit: Pick<AuditRepository, 'append'>;
    clock: Clock;
    registry: Registry;
    logger?: Logger;
    windowMs?: number;
    /** How often expired windows are closed, in real time; 0: only on `sweep()`/`flush()`. */
    sweepIntervalMs?: number;
  }) {
    this.#audit = deps.audit;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#windowMs = deps.windowMs ?? REFUSAL_WINDOW_MS;
    // One counter per registry, even if a second app is built on the same node.
    this.#counter =
      (deps.registry.getSingleMetric(REFUSALS_METRIC) as Counter<'route' | 'code'> | undefined) ??
      new Counter({
        name: REFUSALS_METRIC,
        help: 'Management calls refused to a valid management key (e.g. missing scope), by route and code',
        labelNames: ['route', 'code'] as const,
        registers: [deps.registry],
      });
    const interval = deps.sweepIntervalMs ?? 10_000;
    if (interval > 0) {
      this.#timer = setInterval(() => void this.sweep(), interval);
      this.#timer.unref();
    }
  }

  /** Records one refusal; resolves once the rows it caused (at most two) are written. */
  async record(refusal: Refusal): Promise<void> {
    this.#counter.inc({ route: refusal.route, code: refusal.code });
    const now = this.#clock.now();
    const key = tallyKey(refusal);
    const rows: RefusalRow[] = [];
    const current = this.#tallies.get(key);
    if (current === undefined && this.#tallies.size >= MAX_TALLIES) {
      const [oldestKey, oldest] = this.#tallies.entries().next().value as [string, RefusalTally];
      this.#tallies.delete(oldestKey);
      rows.push(...closeTally(oldest, now));
    }
    const decision = tallyRefusal(current, refusal, now, this.#windowMs);
    this.#tallies.set(key, decision.tally);
    rows.push(...decision.rows);
    await this.#write(rows);
  }

  /** Closes the windows that are over, writing their aggregate rows. */
  async sweep(): Promise<void> {
    const now = this.#clock.now();
    const rows: RefusalRow[] = [];
    for (const [key, tally] of this.#tallies) {
      if (!tallyExpired(tally, now, this.#windowMs)) continue;
      this.#tallies.delete(key);
      rows.push(...closeTally(tally, now));
    }
    await this.#write(rows);
  }

  /** Closes every window now (shutdown): no counted refusal is lost. */
  async flush(): Promise<void> {
    const now = this.#clock.now();
    const rows = [...this.#tallies.values()].flatMap((tally) => closeTally(tally, now));
    this.#tallies.clear();
    await this.#write(rows);
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async #write(rows: RefusalRow[]): Promise<void> {
    for (const row of rows) {
      try {
        await this.#audit.append(auditRowFor(row));
        this.#logger?.warn(logFieldsFor(row), 'management call refused');
      } catch (error) {
        this.#logger?.error(
          { err: error },
          'writing a refused management call to the audit log failed',
        );
      }
    }
  }
}

function auditRowFor(row: RefusalRow) {
  if (row.kind === 'first') {
    const { refusal } = row;
    return {
      at: row.at,
      actorId: refusal.actorId,
      actorDisplay: refusal.actorDisplay,
      action: 'auth.denied',
      targetType: 'route',
      targetId: refusal.route,
      ip: refusal.ip,
      result: 'denied' as const,
      requestId: refusal.requestId,
      details: { required: refusal.required, code: refusal.code },
    };
  }
  return {
    at: row.at,
    actorId: row.actorId,
    actorDisplay: row.actorDisplay,
    action: 'auth.denied.repeated',
    targetType: 'route',
    targetId: row.route,
    ip: row.ips[0] ?? null,
    result: 'denied' as const,
    requestId: row.lastRequestId,
    details: {
      required: row.required,
      code: row.code,
      count: row.count,
      from: new Date(row.from).toISOString(),
      to: new Date(row.to).toISOString(),
      ips: row.ips,
      ...(row.ipsDropped ? { moreIps: true } : {}),
      summary: `${row.count} more refusals between ${new Date(row.from).toISOString()} and ${new Date(row.to).toISOString()}`,
    },
  };
}

function logFieldsFor(row: RefusalRow) {
  return row.kind === 'first'
    ? {
        actor: row.refusal.actorId,
        route: row.refusal.route,
        code: row.refusal.code,
        ip: row.refusal.ip,
      }
    : { actor: row.actorId, route: row.route, code: row.code, repeated: row.count };
}
