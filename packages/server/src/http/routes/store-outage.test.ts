import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateKey } from '@keywarden/core';
import { manualClock } from '../../clock/index.ts';
import { startTestNode, type TestNode } from '../../testing/harness.ts';

/** The documented policy when the store does not answer: stale-if-error, else 503; never a 500. */
describe('store outage', () => {
  const clock = manualClock(Date.UTC(2026, 9, 1));
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ clock, env: { KEYWARDEN_STALE_IF_ERROR_MS: '60000' } });
  });
  after(() => node.close());

  const auth = (key: string) => node.app.inject({ url: '/v1/auth', headers: { 'x-api-key': key } });

  test('cached keys keep verifying within the stale-if-error window; others get 503; recovery is automatic', async () => {
    const { key: cached } = await node.createKey();
    const { key: uncached } = await node.createKey();
    assert.equal((await auth(cached)).statusCode, 200);

    const findByHash = node.kw.store.keys.findByHash;
    node.kw.store.keys.findByHash = async () => {
      throw new Error('connection terminated');
    };
    try {
      clock.advance(node.config.cacheMaxAgeMs + 1000);
      assert.equal((await auth(cached)).statusCode, 200, 'stale-if-error serves the cached key');
      const miss = await auth(uncached);
      assert.equal(miss.statusCode, 503);
      assert.equal(miss.json().code, 'SERVICE_UNAVAILABLE');
      assert.equal((await auth(generateKey({ prefix: 'kw', env: 'dev' }))).statusCode, 503);
      clock.advance(60_000);
      assert.equal((await auth(cached)).statusCode, 503, 'past the window, no more guessing');
    } finally {
      node.kw.store.keys.findByHash = findByHash;
    }
    // Past the breaker's backoff (at most 1 s): the next request probes the store again.
    clock.advance(1000);
    assert.equal((await auth(cached)).statusCode, 200);
    assert.equal((await auth(uncached)).statusCode, 200);
  });
});
