import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateLimitHeaders } from './headers.ts';
import type { LimitDecision, LimitResult } from './types.ts';

const limit = (overrides: Partial<LimitResult>): LimitResult => ({
  subject: 'key:key_01',
  name: 'requests',
  limit: 100,
  windowSeconds: 60,
  remaining: 42,
  resetSeconds: 17,
  ...overrides,
});

const decision = (overrides: Partial<LimitDecision>): LimitDecision => ({
  allowed: true,
  code: 'VALID',
  limits: [],
  retryAfterSeconds: null,
  credits: null,
  ...overrides,
});

test('no limits: no headers', () => {
  assert.deepEqual(rateLimitHeaders(decision({})), {});
  assert.deepEqual(
    rateLimitHeaders(decision({ allowed: false, code: 'QUOTA_EXCEEDED', retryAfterSeconds: null })),
    {},
  );
});

test('policy and current state for every limit, in the draft structured-field form', () => {
  const headers = rateLimitHeaders(
    decision({
      limits: [
        limit({}),
        limit({ name: 'burst', limit: 10, windowSeconds: 1, remaining: 9, resetSeconds: 1 }),
      ],
    }),
  );
  assert.deepEqual(headers, {
    'RateLimit-Policy': '"requests";q=100;w=60, "burst";q=10;w=1',
    RateLimit: '"requests";r=42;t=17, "burst";r=9;t=1',
  });
});

test('denied: Retry-After in whole seconds, alongside the limits', () => {
  const headers = rateLimitHeaders(
    decision({
      allowed: false,
      code: 'RATE_LIMITED',
      limits: [limit({ remaining: 0, resetSeconds: 60 })],
      retryAfterSeconds: 1,
    }),
  );
  assert.equal(headers['Retry-After'], '1');
  assert.equal(headers.RateLimit, '"requests";r=0;t=60');
});

test('denied with an unknown wait: no Retry-After', () => {
  const headers = rateLimitHeaders(
    decision({
      allowed: false,
      code: 'RATE_LIMITED',
      limits: [limit({})],
      retryAfterSeconds: null,
    }),
  );
  assert.equal(headers['Retry-After'], undefined);
});

test('QUOTA_EXCEEDED with a known refill and no rate limits: only Retry-After', () => {
  assert.deepEqual(
    rateLimitHeaders(decision({ allowed: false, code: 'QUOTA_EXCEEDED', retryAfterSeconds: 2400 })),
    { 'Retry-After': '2400' },
  );
});

test('names are sf-strings: quotes and backslashes escaped, non-ASCII replaced', () => {
  const headers = rateLimitHeaders(
    decision({ limits: [limit({ name: 'say "hi" \\ there' }), limit({ name: 'café\n' })] }),
  );
  assert.equal(
    headers['RateLimit-Policy'],
    '"say \\"hi\\" \\\\ there";q=100;w=60, "caf??";q=100;w=60',
  );
});

test('the same name on a key and its owner is told apart by subject kind, not id', () => {
  const headers = rateLimitHeaders(
    decision({
      limits: [
        limit({}),
        limit({ subject: 'owner:acme', limit: 1000, remaining: 500 }),
        limit({ name: 'burst', limit: 10, windowSeconds: 1, remaining: 3, resetSeconds: 1 }),
      ],
    }),
  );
  assert.equal(
    headers['RateLimit-Policy'],
    '"key:requests";q=100;w=60, "owner:requests";q=1000;w=60, "burst";q=10;w=1',
  );
  assert.equal(
    headers.RateLimit,
    '"key:requests";r=42;t=17, "owner:requests";r=500;t=17, "burst";r=3;t=1',
  );
  assert.ok(!headers.RateLimit?.includes('acme'));
});

test('a name still repeated after qualifying is numbered', () => {
  const headers = rateLimitHeaders(decision({ limits: [limit({}), limit({ limit: 5 })] }));
  assert.equal(headers['RateLimit-Policy'], '"key:requests";q=100;w=60, "key:requests#2";q=5;w=60');
});
