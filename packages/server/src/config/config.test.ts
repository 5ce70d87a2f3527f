import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './index.ts';

test('defaults: 127.0.0.1:8787, SQLite in ./.keywarden, no trusted proxies', () => {
  const config = loadConfig({});
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8787);
  assert.match(config.dataDir, /\.keywarden$/);
  assert.equal(config.databaseUrl, undefined);
  assert.deepEqual(config.trustedProxies, []);
});

test('environment variables, then flags, win', () => {
  const config = loadConfig(
    {
      KEYWARDEN_PORT: '9000',
      KEYWARDEN_HOST: '0.0.0.0',
      KEYWARDEN_TRUSTED_PROXIES: '10.0.0.0/8, loopback',
      KEYWARDEN_AUTH_SCOPES: 'a:read b:write',
    },
    { port: 9100 },
  );
  assert.equal(config.port, 9100);
  assert.equal(config.host, '0.0.0.0');
  assert.deepEqual(config.trustedProxies, ['10.0.0.0/8', 'loopback']);
  assert.deepEqual(config.forwardAuth.scopes, ['a:read', 'b:write']);
});

test('bad numbers are refused with the variable named', () => {
  assert.throws(() => loadConfig({ KEYWARDEN_PORT: 'http' }), /KEYWARDEN_PORT/);
  assert.throws(() => loadConfig({ KEYWARDEN_PORT: '70000' }), /KEYWARDEN_PORT/);
  assert.throws(() => loadConfig({ KEYWARDEN_BODY_LIMIT: '10' }), /KEYWARDEN_BODY_LIMIT/);
});

test("the limiter's Redis deadline: 1 s by default, a positive integer when set", () => {
  assert.equal(loadConfig({}).limiterRedisTimeoutMs, 1000);
  assert.equal(
    loadConfig({ KEYWARDEN_RATELIMIT_REDIS_TIMEOUT_MS: '2500' }).limiterRedisTimeoutMs,
    2500,
  );
  assert.throws(
    () => loadConfig({ KEYWARDEN_RATELIMIT_REDIS_TIMEOUT_MS: '0' }),
    /KEYWARDEN_RATELIMIT_REDIS_TIMEOUT_MS/,
  );
});

test('loopback upstreams: refused by default, allowed by KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK=true', () => {
  assert.equal(loadConfig({}).gateway.allowLoopbackUpstreams, false);
  assert.equal(
    loadConfig({ KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK: 'true' }).gateway.allowLoopbackUpstreams,
    true,
  );
  assert.throws(
    () => loadConfig({ KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK: 'yes' }),
    /KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK/,
  );
});

test('shutdown deadline (10 s) and the forward-auth cost cap (none: header ignored)', () => {
  const defaults = loadConfig({});
  assert.equal(defaults.shutdownTimeoutMs, 10_000);
  assert.equal(defaults.forwardAuth.maxCost, undefined);
  const set = loadConfig({ KEYWARDEN_SHUTDOWN_TIMEOUT_MS: '2500', KEYWARDEN_AUTH_MAX_COST: '50' });
  assert.equal(set.shutdownTimeoutMs, 2500);
  assert.equal(set.forwardAuth.maxCost, 50);
  assert.throws(() => loadConfig({ KEYWARDEN_AUTH_MAX_COST: '-1' }), /KEYWARDEN_AUTH_MAX_COST/);
  assert.throws(
    () => loadConfig({ KEYWARDEN_SHUTDOWN_TIMEOUT_MS: 'soon' }),
    /KEYWARDEN_SHUTDOWN_TIMEOUT_MS/,
  );
});

test('the unknown-key guard: on, 20 lookups per 4 s per network; off when told', () => {
  assert.deepEqual(loadConfig({}).unknownKeys, { enabled: true, limit: 20, windowSeconds: 4 });
  const set = loadConfig({
    KEYWARDEN_UNKNOWN_KEY_GUARD: 'off',
    KEYWARDEN_UNKNOWN_KEY_LIMIT: '5',
    KEYWARDEN_UNKNOWN_KEY_WINDOW_SECONDS: '60',
  });
  assert.deepEqual(set.unknownKeys, { enabled: false, limit: 5, windowSeconds: 60 });
  assert.throws(() => loadConfig({ KEYWARDEN_UNKNOWN_KEY_LIMIT: '0' }), /UNKNOWN_KEY_LIMIT/);
});
