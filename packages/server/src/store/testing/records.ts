import { newId } from '../../ids/index.ts';
import type { KeyRecord } from '../types.ts';

/**
 * A valid API key record for tests, as the store holds it: a fresh id and a unique hash,
 * active, `read` scope in `dev`, nothing else set. Override what the test is about
 * (`projectId` at least, when it is inserted).
 */
export function keyRecord(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const now = Date.now();
  return {
    id: newId('key', now),
    projectId: 'prj_test',
    kind: 'api',
    name: 'test key',
    env: 'dev',
    hash: `${Math.random().toString(16).slice(2)}${newId('key')}`.toLowerCase(),
    pepperVersion: 1,
    display: 'kw_dev_…abcde',
    scopes: ['read'],
    status: 'active',
    ownerId: null,
    meta: {},
    expiresAt: null,
    allowedIps: [],
    createdAt: now,
    updatedAt: now,
    lastUsedAt: null,
    lastUsedIp: null,
    rotatedFromId: null,
    revokedAt: null,
    ratelimits: null,
    credits: null,
    rotatedToId: null,
    models: null,
    budgets: null,
    ...overrides,
  };
}
