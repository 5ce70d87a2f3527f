/**
 * Refused management calls (a valid management key asking for more than it may), recorded in
 * a bounded way. A hash-chained audit row per refusal let one key with too little scope write
 * 22,254 rows (12 MB) in five seconds; here each (key, route, code) gets at most two rows per
 * window whatever the rate: the first refusal at once, with its IP and request id (so who
 * tried is in the log before anything is aggregated), and, when the window closes, one row
 * "N more refusals between t1 and t2" with the addresses they came from.
 *
 * Pure: the caller holds the tallies, feeds the clock, and writes the rows it is handed.
 */

/** Long enough to absorb a retry loop, short enough that the audit log stays current. */
export const REFUSAL_WINDOW_MS = 60_000;
/** Distinct addresses kept per window: who tried, without an unbounded list. */
export const MAX_REFUSAL_IPS = 10;

export interface Refusal {
  actorId: string;
  actorDisplay: string;
  /** Method and route pattern (`POST /v1/keys`), never the raw URL. */
  route: string;
  code: string;
  /** The scope the route needs. */
  required: string;
  ip: string | null;
  requestId: string | null;
}

/** One (key, route, code) in its current window. Plain data: the caller keeps it. */
export interface RefusalTally {
  actorId: string;
  actorDisplay: string;
  route: string;
  code: string;
  required: string;
  windowStart: number;
  /** Refusals after the first one of the window: what the aggregate row counts. */
  repeated: number;
  firstRepeatAt: number | null;
  lastRepeatAt: number | null;
  ips: string[];
  ipsDropped: boolean;
  lastRequestId: string | null;
}

export type RefusalRow =
  | { kind: 'first'; at: number; refusal: Refusal }
  | {
      kind: 'repeated';
      at: number;
      actorId: string;
      actorDisplay: string;
      route: string;
      code: string;
      required: string;
      count: number;
      from: number;
      to: number;
      ips: string[];
      ipsDropped: boolean;
      lastRequestId: string | null;
    };

export function tallyKey(refusal: Pick<Refusal, 'actorId' | 'route' | 'code'>): string {
  return `${refusal.actorId} ${refusal.code} ${refusal.route}`;
}

/** The aggregate row for a window that closes, if anything was repeated in it. */
export function closeTally(tally: RefusalTally, now: number): RefusalRow[] {
  if (tally.repeated === 0) return [];
  return [
    {
      kind: 'repeated',
      at: now,
      actorId: tally.actorId,
      actorDisplay: tally.actorDisplay,
      route: tally.route,
      code: tally.code,
      required: tally.required,
      count: tally.repeated,
      from: tally.firstRepeatAt ?? tally.windowStart,
      to: tally.lastRepeatAt ?? tally.windowStart,
      ips: tally.ips,
      ipsDropped: tally.ipsDropped,
      lastRequestId: tally.lastRequestId,
    },
  ];
}

/**
 * One refusal: the tally to keep for its (key, route, code) and the rows to write now. A
 * refusal after the window ended closes the old window (its aggregate row) and opens a new
 * one (a first row again).
 */
export function tallyRefusal(
  tally: RefusalTally | undefined,
  refusal: Refusal,
  now: number,
  windowMs = REFUSAL_WINDOW_MS,
): { tally: RefusalTally; rows: RefusalRow[] } {
  if (tally === undefined || now >= tally.windowStart + windowMs || now < tally.windowStart) {
    const rows = tally === undefined ? [] : closeTally(tally, now);
    rows.push({ kind: 'first', at: now, refusal });
    return {
      tally: {
        actorId: refusal.actorId,
        actorDisplay: refusal.actorDisplay,
        route: refusal.route,
        code: refusal.code,
        required: refusal.required,
        windowStart: now,
        repeated: 0,
        firstRepeatAt: null,
        lastRepeatAt: null,
        ips: [],
        ipsDropped: false,
        lastRequestId: null,
      },
      rows,
    };
  }
  const ips = [...tally.ips];
  let ipsDropped = tally.ipsDropped;
  if (refusal.ip !== null && !ips.includes(refusal.ip)) {
    if (ips.length < MAX_REFUSAL_IPS) ips.push(refusal.ip);
    else ipsDropped = true;
  }
  return {
    tally: {
      ...tally,
      repeated: tally.repeated + 1,
      firstRepeatAt: tally.firstRepeatAt ?? now,
      lastRepeatAt: now,
      ips,
      ipsDropped,
      lastRequestId: refusal.requestId,
    },
    rows: [],
  };
}

/** Whether the tally's window is over at `now` (the caller then writes `closeTally`'s rows). */
export function tallyExpired(tally: RefusalTally, now: number, windowMs = REFUSAL_WINDOW_MS) {
  return now >= tally.windowStart + windowMs || now < tally.windowStart;
}
