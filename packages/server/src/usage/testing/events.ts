import type { UsageEvent } from '../types.ts';

/** A valid usage event for tests: a VALID verification of `key_A`; override what matters. */
export function usageEvent(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    at: Date.UTC(2030, 0, 1),
    keyId: 'key_A',
    projectId: 'prj_P',
    ownerId: 'user_1',
    env: 'prod',
    outcome: 'VALID',
    entryPoint: 'verify',
    route: null,
    status: 200,
    latencyMs: 1,
    clientIp: null,
    userAgent: null,
    cost: 1,
    tokensIn: null,
    tokensOut: null,
    costMicros: null,
    ...overrides,
  };
}
