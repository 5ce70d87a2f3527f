import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr, parseIp } from '../netaddr/index.ts';
import {
  decideAddress,
  decideHost,
  decideResolved,
  type HostPolicySettings,
  toleratedForExisting,
} from './host-policy.ts';

const strict: HostPolicySettings = { allowLoopback: false, self: [] };
const withLoopback: HostPolicySettings = { allowLoopback: true, self: [] };

/** The host as the URL parser leaves it, so that every spelling is tried the way it arrives. */
const hostOf = (url: string) => new URL(url).hostname;
const reasonFor = (url: string, settings = strict, port = 80) => {
  const verdict = decideHost(hostOf(url), port, settings);
  return verdict.allowed ? null : verdict.reason;
};

test('metadata and link-local: every spelling refused, whatever the settings', () => {
  const metadata = [
    'http://169.254.169.254/',
    'http://2852039166/',
    'http://0251.0376.0251.0376/',
    'http://0xa9fea9fe/',
    'http://0xa9.0xfe.0xa9.0xfe/',
    'http://169.254.43518/',
    'http://169.254.169.254./',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[0:0:0:0:0:ffff:a9fe:a9fe]/',
    'http://[::169.254.169.254]/',
    'http://[::a9fe:a9fe]/',
    'http://[64:ff9b::169.254.169.254]/',
    'http://[64:ff9b:1::a9fe:a9fe]/',
    'http://[2002:a9fe:a9fe::1]/',
    'http://[fd00:ec2::254]/',
    'http://100.100.100.200/',
    'http://metadata.google.internal/',
    'http://METADATA.google.internal./',
    'http://metadata.goog/',
    'http://metadata/',
    'http://instance-data/',
  ];
  for (const url of metadata)
    for (const settings of [strict, withLoopback])
      assert.equal(reasonFor(url, settings), 'metadata', url);
  for (const url of [
    'http://169.254.1.1/',
    'http://[fe80::1]/',
    'http://[febf::1]/',
    'http://[::ffff:169.254.0.1]/',
  ])
    for (const settings of [strict, withLoopback])
      assert.equal(reasonFor(url, settings), 'link-local', url);
});

test('unspecified and non-unicast addresses are refused', () => {
  for (const url of [
    'http://0.0.0.0/',
    'http://0/',
    'http://0.1.2.3/',
    'http://[::]/',
    'http://[::ffff:0.0.0.0]/',
  ])
    assert.equal(reasonFor(url, withLoopback), 'unspecified', url);
  for (const url of [
    'http://224.0.0.1/',
    'http://255.255.255.255/',
    'http://240.0.0.1/',
    'http://[ff02::1]/',
  ])
    assert.equal(reasonFor(url, withLoopback), 'not-unicast', url);
});

test('loopback only when configured, in every spelling', () => {
  for (const url of [
    'http://127.0.0.1:11434/',
    'http://127.1/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://127.255.0.9/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::127.0.0.1]/',
    'http://localhost/',
    'http://LOCALHOST./',
    'http://api.localhost/',
  ]) {
    assert.equal(reasonFor(url, strict), 'loopback', url);
    assert.equal(reasonFor(url, withLoopback), null, url);
  }
});

test('private networks and public addresses are allowed', () => {
  for (const url of [
    'http://10.0.0.5:3000/',
    'http://172.16.0.1/',
    'http://192.168.1.10/',
    'http://100.64.0.1/',
    'http://[fc00::5]/',
    'http://[fd12:3456::1]/',
    'https://api.openai.com/',
    'http://8.8.8.8/',
    'http://[2001:db8::1]/',
    // IPv4-compatible of a private address: judged as IPv6 (unicast) and as 10.0.0.5 (private).
    'http://[::10.0.0.5]/',
  ])
    assert.equal(reasonFor(url, strict), null, url);
});

test("keywarden's own address and port: refused on that port only", () => {
  const listening: HostPolicySettings = {
    allowLoopback: true,
    self: [{ ranges: [parseCidr('127.0.0.0/8')!, parseCidr('10.0.0.2')!], port: 8787 }],
  };
  assert.equal(reasonFor('http://127.0.0.1:8787/', listening, 8787), 'self');
  assert.equal(reasonFor('http://[::ffff:10.0.0.2]:8787/', listening, 8787), 'self');
  assert.equal(reasonFor('http://localhost:8787/', listening, 8787), 'self');
  assert.equal(reasonFor('http://127.0.0.1:8788/', listening, 8788), null);
  assert.equal(reasonFor('http://10.0.0.3:8787/', listening, 8787), null);
});

test('a name is refused when any address it resolves to is', () => {
  const resolved = (list: string[]) => list.map((text) => parseIp(text)!);
  const publicOnly = decideResolved('models.example', 443, resolved(['198.51.100.7']), strict);
  assert.equal(publicOnly.allowed, true);
  const mixed = decideResolved(
    'models.example',
    443,
    resolved(['198.51.100.7', '::ffff:169.254.169.254']),
    withLoopback,
  );
  assert.deepEqual(mixed, { allowed: false, reason: 'metadata', subject: '169.254.169.254' });
  const loopback = decideResolved('models.example', 443, resolved(['127.0.0.1']), strict);
  assert.equal(loopback.allowed, false);
});

test('existing upstreams keep working only when refused for loopback or this node', () => {
  const verdict = (text: string) => decideAddress(parseIp(text)!, 80, strict);
  assert.equal(toleratedForExisting(verdict('127.0.0.1')), true);
  assert.equal(toleratedForExisting(verdict('169.254.169.254')), false);
  assert.equal(toleratedForExisting(verdict('0.0.0.0')), false);
  assert.equal(toleratedForExisting(verdict('10.0.0.1')), false, 'not refused at all');
});
