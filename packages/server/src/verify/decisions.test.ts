import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileIpMatcher } from '../netaddr/index.ts';
import { decideClientIp, decideEnvironment, decideKeyState, decideScopes } from './decisions.ts';

const NOW = 1_800_000_000_000;

test('key state: revoked beats expired beats disabled, and expiry is inclusive of now', () => {
  assert.equal(decideKeyState({ status: 'active', expiresAt: null }, NOW), null);
  assert.equal(decideKeyState({ status: 'active', expiresAt: NOW + 1 }, NOW), null);
  assert.equal(decideKeyState({ status: 'active', expiresAt: NOW }, NOW), 'EXPIRED');
  assert.equal(decideKeyState({ status: 'disabled', expiresAt: null }, NOW), 'DISABLED');
  assert.equal(decideKeyState({ status: 'disabled', expiresAt: NOW - 1 }, NOW), 'EXPIRED');
  assert.equal(decideKeyState({ status: 'revoked', expiresAt: NOW - 1 }, NOW), 'REVOKED');
});

test('environment: only checked when one is required', () => {
  assert.equal(decideEnvironment('prod', undefined), null);
  assert.equal(decideEnvironment('prod', ''), null);
  assert.equal(decideEnvironment('prod', 'prod'), null);
  assert.equal(decideEnvironment('dev', 'prod'), 'WRONG_ENV');
});

test('client IP against the allowlist', () => {
  assert.equal(decideClientIp(compileIpMatcher([]), null), null);
  assert.equal(decideClientIp(compileIpMatcher(['10.0.0.0/8']), '10.1.1.1'), null);
  assert.equal(decideClientIp(compileIpMatcher(['10.0.0.0/8']), '8.8.8.8'), 'IP_NOT_ALLOWED');
  assert.equal(decideClientIp(compileIpMatcher(['10.0.0.0/8']), null), 'IP_NOT_ALLOWED');
});

test('scopes: names what is missing', () => {
  assert.equal(decideScopes(['read'], undefined), null);
  assert.equal(decideScopes([], []), null);
  assert.equal(decideScopes(['keys:admin'], ['keys:write', 'keys:read']), null);
  assert.deepEqual(decideScopes(['keys:read'], ['keys:read', 'audit:read']), {
    code: 'INSUFFICIENT_SCOPE',
    missing: ['audit:read'],
  });
  assert.deepEqual(decideScopes([], ['read']), { code: 'INSUFFICIENT_SCOPE', missing: ['read'] });
});
