import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileIpMatcher } from '../netaddr/index.ts';
import {
  decideClientIp,
  decideEnvironment,
  decideKeyAge,
  decideKeyState,
  decideScopes,
} from './decisions.ts';

const NOW = 1_800_000_000_000;

test('key state: revoked beats expired beats disabled, and expiry is inclusive of now', () => {
  assert.equal(decideKeyState({ status: 'active', expiresAt: null }, NOW), null);
  assert.equal(decideKeyState({ status: 'active', expiresAt: NOW + 1 }, NOW), null);
  assert.equal(decideKeyState({ status: 'active', expiresAt: NOW }, NOW), 'EXPIRED');
  assert.equal(decideKeyState({ status: 'disabled', expiresAt: null }, NOW), 'DISABLED');
  assert.equal(decideKeyState({ status: 'disabled', expiresAt: NOW - 1 }, NOW), 'EXPIRED');
  assert.equal(decideKeyState({ status: 'revoked', expiresAt: NOW - 1 }, NOW), 'REVOKED');
});

test('key age: enforced rotation policy expires keys past maxAgeDays + graceDays', () => {
  const day = 86_400_000;
  const key = { createdAt: NOW - 90 * day, env: 'prod' };
  assert.equal(decideKeyAge(key, {}, NOW), null);
  assert.equal(
    decideKeyAge(key, { prod: { maxAgeDays: 90 } }, NOW),
    null,
    'not enforced: only listed as due',
  );
  assert.equal(decideKeyAge(key, { prod: { maxAgeDays: 90, enforce: true } }, NOW), 'EXPIRED');
  assert.equal(
    decideKeyAge(key, { prod: { maxAgeDays: 90, enforce: true, graceDays: 1 } }, NOW),
    null,
  );
  assert.equal(decideKeyAge(key, { '*': { maxAgeDays: 30, enforce: true } }, NOW), 'EXPIRED');
  assert.equal(decideKeyAge(key, { dev: { maxAgeDays: 1, enforce: true } }, NOW), null);
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
