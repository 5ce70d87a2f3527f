import type { UsageEvent } from './types.ts';

/**
 * A stored usage row: `count` events identical in everything but their time within one
 * second and their latency. `at` is the first one's time and `latencyMs` their mean; every
 * other field is each event's own (so `cost` is per event, and the row stands for
 * `count × cost`).
 */
export interface UsageEventGroup extends UsageEvent {
  count: number;
}

/**
 * Groups a batch's events for storage. A busy node verifies the same key from the same
 * client for the same route many times a second; storing each as its own row would make the
 * event table (and the writer's time) grow with the traffic's rate, while grouping makes it
 * grow with its variety. Nothing counted is lost: every event is in exactly one row, the
 * roll-ups are computed from the events themselves, and a row of one is the event as it was.
 *
 * Gateway events that carry tokens or money (or an unknown cost) are never grouped: each is a priced call whose
 * figures are its own. Rows come out in the order of their first event.
 */
export function groupUsageEvents(events: readonly UsageEvent[]): UsageEventGroup[] {
  const rows: UsageEventGroup[] = [];
  const open = new Map<string, { row: UsageEventGroup; latencySum: number }>();
  for (const event of events) {
    // An event may already stand for several (a batch folds repeats: usage/batch.ts).
    const count = event.count ?? 1;
    if (
      event.tokensIn !== null ||
      event.tokensOut !== null ||
      event.costMicros !== null ||
      event.unpriced
    ) {
      rows.push({ ...event, count });
      continue;
    }
    // JSON: unambiguous whatever the texts hold (a route may contain any character).
    const identity = JSON.stringify([
      Math.floor(event.at / 1000),
      event.keyId,
      event.projectId,
      event.ownerId,
      event.env,
      event.outcome,
      event.entryPoint,
      event.route,
      event.status,
      event.clientIp,
      event.userAgent,
      event.cost,
    ]);
    const group = open.get(identity);
    if (group) {
      group.row.count += count;
      group.latencySum += event.latencyMs * count;
      continue;
    }
    const row = { ...event, count };
    rows.push(row);
    open.set(identity, { row, latencySum: event.latencyMs * count });
  }
  for (const { row, latencySum } of open.values()) {
    if (row.count > 1) row.latencyMs = latencySum / row.count;
  }
  return rows;
}
