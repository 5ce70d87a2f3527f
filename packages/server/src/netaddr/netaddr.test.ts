import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileIpMatcher, isValidCidr } from './index.ts';

test('an empty allowlist allows every address, including none', () => {
  const matcher = compileIpMatcher([]);
  assert.equal(matcher.allowsAll, true);
  assert.equal(matcher.matches('203.0.113.9'), true);
});

test('IPv4 ranges match by prefix, not by string', () => {
  const matcher = compileIpMatcher(['10.0.0.0/8', '192.0.2.7']);
  assert.equal(matcher.matches('10.255.1.2'), true);
  assert.equal(matcher.matches('11.0.0.1'), false);
  assert.equal(matcher.matches('192.0.2.7'), true);
  assert.equal(matcher.matches('192.0.2.8'), false);
});

test('IPv6 ranges, and IPv4-mapped IPv6 addresses count as IPv4', () => {
  const matcher = compileIpMatcher(['2001:db8::/32', '198.51.100.0/24']);
  assert.equal(matcher.matches('2001:db8:1::5'), true);
  assert.equal(matcher.matches('2001:db9::1'), false);
  assert.equal(matcher.matches('::ffff:198.51.100.20'), true);
  assert.equal(matcher.matches('::ffff:198.51.101.20'), false);
});

test('a missing or garbage address never matches a non-empty list', () => {
  const matcher = compileIpMatcher(['0.0.0.0/0']);
  assert.equal(matcher.matches(undefined), false);
  assert.equal(matcher.matches(''), false);
  assert.equal(matcher.matches('not-an-ip'), false);
  assert.equal(matcher.matches('1.2.3.4'), true);
});

test('CIDR validation', () => {
  for (const ok of ['10.0.0.0/8', '::/0', '2001:db8::/32', '192.0.2.1', '::1']) {
    assert.equal(isValidCidr(ok), true, ok);
  }
  for (const bad of ['10.0.0.0/33', '2001:db8::/129', 'abc', '', '1.2.3', '10.0.0.0/-1']) {
    assert.equal(isValidCidr(bad), false, bad);
  }
});
