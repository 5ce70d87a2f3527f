import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileIpMatcher, formatIp, isValidCidr, parseIp } from './index.ts';

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

test('every spelling of one address matches the same ranges (IPv4-compatible stays IPv6)', () => {
  const ipv4 = compileIpMatcher(['10.0.0.0/8']);
  const compatible = compileIpMatcher(['::a01:0/112']);
  // One address (the deprecated IPv4-compatible ::10.1.2.3), four spellings: none is IPv4.
  for (const spelling of ['::10.1.2.3', '::a01:203', '0:0:0:0:0:0:a01:203', '::0:10.1.2.3']) {
    assert.equal(ipv4.matches(spelling), false, spelling);
    assert.equal(compatible.matches(spelling), true, spelling);
  }
  // IPv4 and its IPv4-mapped spellings: all IPv4.
  for (const spelling of [
    '10.1.2.3',
    '::ffff:10.1.2.3',
    '::ffff:a01:203',
    '::FFFF:A01:0203',
    '0:0:0:0:0:ffff:10.1.2.3',
    '0000:0000:0000:0000:0000:ffff:0a01:0203',
  ]) {
    assert.equal(ipv4.matches(spelling), true, spelling);
    assert.equal(compatible.matches(spelling), false, spelling);
  }
  // Ranges written in either spelling are the same range.
  for (const range of ['::ffff:10.0.0.0/104', '::ffff:a00:0/104']) {
    const matcher = compileIpMatcher([range]);
    assert.equal(matcher.matches('10.9.9.9'), true, range);
    assert.equal(matcher.matches('::a09:909'), false, range);
  }
});

test('addresses that are not strict are refused: legacy IPv4 forms, zones, bad groups', () => {
  const matcher = compileIpMatcher(['0.0.0.0/0', '::/0']);
  for (const bad of [
    '010.1.2.3',
    '10.1.2',
    '0x0a.1.2.3',
    '167838211',
    'fe80::1%eth0',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '::1.2.3',
    '::ffff:1.2.3.4:5',
    '12345::',
    ':1::2',
  ]) {
    assert.equal(matcher.matches(bad), false, bad);
    assert.equal(isValidCidr(bad), false, bad);
  }
  assert.equal(isValidCidr('::ffff:10.0.0.0/129'), false);
  assert.equal(isValidCidr('10.0.0.0/08'), false);
});

test('formatIp gives one text per address', () => {
  const cases: [string, string][] = [
    ['::ffff:a9fe:a9fe', '169.254.169.254'],
    ['169.254.169.254', '169.254.169.254'],
    ['::169.254.169.254', '::a9fe:a9fe'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::', '::'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80:0:0:0:0:0:0:1', 'fe80::1'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
  ];
  for (const [text, canonical] of cases) {
    const address = parseIp(text);
    assert.ok(address, text);
    assert.equal(formatIp(address), canonical, text);
  }
});
