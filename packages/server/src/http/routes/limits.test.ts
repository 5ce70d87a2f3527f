import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { manualClock } from '../../clock/index.ts';
import { startTestNode, type TestNode } from '../../testing/harness.ts';

/** Rate limits, credits and owners through the HTTP entry points, on a manual clock. */
describe('rate limits, credits and owners', () => {
  const clock = manualClock(Date.UTC(2026, 6, 1, 12, 0, 0));
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ clock });
  });
  after(() => node.close());

  const auth = (key: string, headers: Record<string, string> = {}, url = '/v1/auth') =>
    node.app.inject({ url, headers: { 'x-api-key': key, ...headers } });
  const verify = (payload: Record<string, unknown>) =>
    node.request({ method: 'POST', url: '/v1/verify', payload });

  test('forward-auth: RateLimit headers on every answer, 429 with Retry-After at the limit', async () => {
    const { key } = await node.createKey({
      ratelimits: [{ name: 'requests', limit: 3, windowSeconds: 60 }],
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const res = await auth(key);
      statuses.push(res.statusCode);
      assert.equal(res.headers['ratelimit-policy'], '"requests";q=3;w=60');
      assert.equal(res.headers.ratelimit, `"requests";r=${2 - i};t=${20 * (i + 1)}`);
    }
    assert.deepEqual(statuses, [200, 200, 200]);
    const limited = await auth(key);
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().code, 'RATE_LIMITED');
    assert.equal(limited.headers['retry-after'], '20');
    assert.equal(limited.headers['ratelimit-policy'], '"requests";q=3;w=60');
    clock.advance(20_000);
    assert.equal(
      (await auth(key)).statusCode,
      200,
      'one request is back after one emission interval',
    );
  });

  test('verify API: each limit with limit, remaining and reset; cost override', async () => {
    const { key } = await node.createKey({
      ratelimits: [
        { name: 'requests', limit: 100, windowSeconds: 60 },
        { name: 'burst', limit: 10, windowSeconds: 1 },
      ],
    });
    const body = (await verify({ key, cost: 4 })).json();
    assert.equal(body.code, 'VALID');
    assert.deepEqual(body.ratelimits, [
      { name: 'requests', subject: 'key', limit: 100, windowSeconds: 60, remaining: 96, reset: 3 },
      { name: 'burst', subject: 'key', limit: 10, windowSeconds: 1, remaining: 6, reset: 1 },
    ]);
    const over = (await verify({ key, cost: 7 })).json();
    assert.equal(over.code, 'RATE_LIMITED');
    assert.equal(over.retryAfter, 1);
    assert.equal(
      (await verify({ key, cost: 6 })).json().code,
      'VALID',
      'the denied request spent nothing',
    );
  });

  test('forward-auth cost: the route sets it; without an opt-in the header is ignored', async () => {
    const { key } = await node.createKey({
      ratelimits: [{ name: 'requests', limit: 10, windowSeconds: 3600 }],
    });
    const five = await auth(key, { 'x-keywarden-cost': '0' }, '/v1/auth?cost=5');
    assert.equal(five.headers['x-keywarden-cost-ignored'], 'not accepted on this route');
    const afterFive = await auth(key, {}, '/v1/auth?cost=0');
    assert.match(String(afterFive.headers.ratelimit), /r=5;/);
    assert.equal(afterFive.headers['x-keywarden-cost-ignored'], undefined);
    // A client's header spends nothing beyond the route's cost (here 1), whatever it says.
    const forged = await auth(key, { 'x-keywarden-cost': '9' });
    assert.equal(forged.statusCode, 200);
    assert.equal(forged.headers['x-keywarden-cost-ignored'], 'not accepted on this route');
    assert.match(String(forged.headers.ratelimit), /r=4;/);
    const garbage = await auth(key, { 'x-keywarden-cost': '-1' });
    assert.equal(garbage.statusCode, 200, 'an ignored header is not parsed');
  });

  test('forward-auth cost: with ?maxCost the header may raise the cost up to the cap', async () => {
    const { key } = await node.createKey({
      ratelimits: [{ name: 'requests', limit: 10, windowSeconds: 3600 }],
    });
    const capped = '/v1/auth?maxCost=4';
    await auth(key, { 'x-keywarden-cost': '0' }, `${capped}&cost=2`);
    assert.match(String((await auth(key, {}, '/v1/auth?cost=0')).headers.ratelimit), /r=8;/);
    const four = await auth(key, { 'x-keywarden-cost': '4' }, capped);
    assert.equal(four.headers['x-keywarden-cost-ignored'], undefined);
    assert.match(String(four.headers.ratelimit), /r=4;/);
    const over = await auth(key, { 'x-keywarden-cost': '5' }, capped);
    assert.equal(over.statusCode, 400);
    assert.equal(over.json().errors[0].field, 'headers/x-keywarden-cost');
    assert.match(String((await auth(key, {}, '/v1/auth?cost=0')).headers.ratelimit), /r=4;/);
    const bad = await auth(key, { 'x-keywarden-cost': '-1' }, capped);
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().errors[0].field, 'headers/x-keywarden-cost');
    const badCap = await auth(key, {}, '/v1/auth?maxCost=x');
    assert.equal(badCap.json().errors[0].field, 'querystring/maxCost');
  });

  test('forward-auth cost: KEYWARDEN_AUTH_MAX_COST opts every route in, with its cap', async () => {
    const { key } = await node.createKey({
      ratelimits: [{ name: 'requests', limit: 10, windowSeconds: 3600 }],
    });
    node.kw.config.forwardAuth.maxCost = 3;
    try {
      assert.match(
        String((await auth(key, { 'x-keywarden-cost': '3' })).headers.ratelimit),
        /r=7;/,
      );
      assert.equal((await auth(key, { 'x-keywarden-cost': '4' })).statusCode, 400);
      const route = await auth(key, { 'x-keywarden-cost': '4' }, '/v1/auth?maxCost=4');
      assert.match(String(route.headers.ratelimit), /r=3;/, "the route's cap beats the default");
    } finally {
      node.kw.config.forwardAuth.maxCost = undefined;
    }
  });

  test("forward-auth cost: a forged header cannot drain credits an owner's keys share", async () => {
    await node.request({
      method: 'PUT',
      url: '/v1/owners/shared-credits',
      payload: { credits: { remaining: 20 } },
    });
    const attacker = await node.createKey({ ownerId: 'shared-credits' });
    const sibling = await node.createKey({ ownerId: 'shared-credits' });
    // Today's attack: one header worth exactly the owner's balance (found by binary search).
    assert.equal((await auth(attacker.key, { 'x-keywarden-cost': '20' })).statusCode, 200);
    assert.equal((await auth(sibling.key)).statusCode, 200, 'the sibling key still has credits');
    const left = (await verify({ key: sibling.key, cost: 0 })).json();
    assert.deepEqual(left.credits, { remaining: 18 }, 'each request spent the route cost, 1');
  });

  test('project defaults per environment are inherited; a key can override them or opt out', async () => {
    await node.request({
      method: 'POST',
      url: '/v1/projects',
      payload: {
        name: 'limited',
        prefix: 'lim',
        ratelimitDefaults: {
          '*': [{ name: 'requests', limit: 5, windowSeconds: 60 }],
          prod: [{ name: 'requests', limit: 50, windowSeconds: 60 }],
        },
      },
    });
    const dev = await node.createKey({ project: 'limited', env: 'dev' });
    const prod = await node.createKey({ project: 'limited', env: 'prod' });
    const own = await node.createKey({
      project: 'limited',
      env: 'dev',
      ratelimits: [{ name: 'mine', limit: 1, windowSeconds: 60 }],
    });
    const none = await node.createKey({ project: 'limited', env: 'dev', ratelimits: [] });
    assert.equal((await auth(dev.key)).headers['ratelimit-policy'], '"requests";q=5;w=60');
    assert.equal((await auth(prod.key)).headers['ratelimit-policy'], '"requests";q=50;w=60');
    assert.equal((await auth(own.key)).headers['ratelimit-policy'], '"mine";q=1;w=60');
    assert.equal((await auth(none.key)).headers['ratelimit-policy'], undefined);
  });

  test('credits: spent per request, QUOTA_EXCEEDED at zero, refilled on schedule', async () => {
    const { id, key } = await node.createKey({
      credits: { remaining: 2, refill: { amount: 2, intervalSeconds: 3600, mode: 'reset' } },
    });
    assert.deepEqual((await verify({ key })).json().credits, { remaining: 1 });
    assert.deepEqual((await verify({ key })).json().credits, { remaining: 0 });
    const out = await auth(key);
    assert.equal(out.statusCode, 429);
    assert.equal(out.json().code, 'QUOTA_EXCEEDED');
    assert.equal(out.headers['retry-after'], '3600');
    clock.advance(3_600_000);
    assert.deepEqual((await verify({ key })).json().credits, { remaining: 1 });
    await node.kw.creditsWriteBack.flush();
    const stored = (await node.request({ method: 'GET', url: `/v1/keys/${id}` })).json();
    assert.equal(stored.credits.remaining, 1, 'the balance is written back to the store');
  });

  test('credits and rate limits together: a request refused for one spends neither', async () => {
    const { key } = await node.createKey({
      ratelimits: [{ name: 'requests', limit: 2, windowSeconds: 3600 }],
      credits: { remaining: 1 },
    });
    assert.equal((await verify({ key })).json().code, 'VALID');
    const quota = (await verify({ key })).json();
    assert.equal(quota.code, 'QUOTA_EXCEEDED');
    assert.equal(
      quota.ratelimits[0].remaining,
      1,
      'no rate-limit token was spent on the refused request',
    );
    const { key: other } = await node.createKey({
      ratelimits: [{ name: 'requests', limit: 1, windowSeconds: 3600 }],
      credits: { remaining: 5 },
    });
    await verify({ key: other });
    const limited = (await verify({ key: other })).json();
    assert.equal(limited.code, 'RATE_LIMITED');
    assert.deepEqual(
      limited.credits,
      { remaining: 4 },
      'no credit was spent on the refused request',
    );
    await node.kw.creditsWriteBack.flush();
  });

  test('setting credits through the API takes effect at once', async () => {
    const { id, key } = await node.createKey({ credits: { remaining: 1 } });
    await verify({ key });
    assert.equal((await verify({ key })).json().code, 'QUOTA_EXCEEDED');
    const patched = await node.request({
      method: 'PATCH',
      url: `/v1/keys/${id}`,
      payload: { credits: { remaining: 10 } },
    });
    assert.equal(patched.statusCode, 200);
    assert.deepEqual((await verify({ key })).json().credits, { remaining: 9 });
  });

  test("owners: limits and credits shared by all of the owner's keys", async () => {
    const owner = `acme-${Date.now()}`;
    const set = await node.request({
      method: 'PUT',
      url: `/v1/owners/${owner}`,
      payload: {
        ratelimits: [{ name: 'org', limit: 3, windowSeconds: 60 }],
        credits: { remaining: 100 },
      },
    });
    assert.equal(set.statusCode, 200);
    const a = await node.createKey({ ownerId: owner, ratelimits: [] });
    const b = await node.createKey({ ownerId: owner, ratelimits: [] });
    const codes = [];
    for (const key of [a.key, b.key, a.key, b.key]) codes.push((await verify({ key })).json().code);
    assert.deepEqual(codes, ['VALID', 'VALID', 'VALID', 'RATE_LIMITED']);
    const last = (await verify({ key: a.key, cost: 0 })).json();
    assert.deepEqual(last.credits, { remaining: 97 });
    assert.equal(last.ratelimits[0].subject, 'owner');
    assert.equal(
      (await node.request({ method: 'GET', url: `/v1/owners/${owner}` })).json().ratelimits[0].name,
      'org',
    );
  });

  test("token-unit limits are the gateway's: verification never spends or applies them", async () => {
    const owner = `tokens-${Date.now()}`;
    await node.request({
      method: 'PUT',
      url: `/v1/owners/${owner}`,
      payload: { ratelimits: [{ name: 'org-tpm', limit: 1, windowSeconds: 3600, unit: 'tokens' }] },
    });
    const { key } = await node.createKey({
      ownerId: owner,
      ratelimits: [{ name: 'tpm', limit: 1, windowSeconds: 3600, unit: 'tokens' }],
    });
    for (let i = 0; i < 5; i++) {
      const body = (await verify({ key, cost: 10 })).json();
      assert.equal(body.code, 'VALID', `verification ${i}`);
      assert.equal(body.ratelimits, undefined, 'no request limit applied, none reported');
    }
    const forwarded = await auth(key);
    assert.equal(forwarded.statusCode, 200);
    assert.equal(forwarded.headers['ratelimit-policy'], undefined);

    // Mixed: the requests rule applies alone.
    const mixed = await node.createKey({
      ratelimits: [
        { name: 'tpm', limit: 1, windowSeconds: 60, unit: 'tokens' },
        { name: 'rpm', limit: 2, windowSeconds: 60, unit: 'requests' },
      ],
    });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await verify({ key: mixed.key })).json().code);
    assert.deepEqual(codes, ['VALID', 'VALID', 'RATE_LIMITED']);
    assert.deepEqual(
      (await verify({ key: mixed.key, cost: 0 }))
        .json()
        .ratelimits.map((r: { name: string }) => r.name),
      ['rpm'],
    );
  });

  test('owners: budgets round-trip in currency units; fields not sent are kept', async () => {
    const owner = `budget-${Date.now()}`;
    const set = await node.request({
      method: 'PUT',
      url: `/v1/owners/${owner}`,
      payload: { budgets: [{ name: 'monthly', amount: 1000.25, period: 'month' }] },
    });
    assert.equal(set.statusCode, 200, set.body);
    assert.deepEqual(set.json().budgets, [{ name: 'monthly', amount: 1000.25, period: 'month' }]);
    assert.equal(
      (await node.kw.store.owners.findById(owner))?.budgets?.[0]?.amountMicros,
      1_000_250_000,
    );
    const limits = await node.request({
      method: 'PUT',
      url: `/v1/owners/${owner}`,
      payload: { ratelimits: [] },
    });
    assert.equal(limits.json().budgets[0].amount, 1000.25, 'budgets kept when not sent');
    const cleared = await node.request({
      method: 'PUT',
      url: `/v1/owners/${owner}`,
      payload: { budgets: null },
    });
    assert.equal(cleared.json().budgets, null);
    const bad = await node.request({
      method: 'PUT',
      url: `/v1/owners/${owner}`,
      payload: { budgets: [{ name: 'x', amount: 0.1234567, period: 'day' }] },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().errors[0].field, '/budgets/0/amount');
  });

  test('1,000 concurrent verifications against a limit of 100: exactly 100 admitted', async () => {
    const { key } = await node.createKey({
      ratelimits: [{ name: 'requests', limit: 100, windowSeconds: 60 }],
    });
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => node.kw.verifier.verify({ key })),
    );
    assert.equal(results.filter((r) => r.valid).length, 100);
    assert.ok(results.filter((r) => !r.valid).every((r) => r.code === 'RATE_LIMITED'));
  });

  test('credits never go negative under 1,000 concurrent verifications', async () => {
    const { key } = await node.createKey({ credits: { remaining: 37 } });
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => node.kw.verifier.verify({ key })),
    );
    assert.equal(results.filter((r) => r.valid).length, 37);
    assert.ok(results.every((r) => (r.credits?.remaining ?? 0) >= 0));
  });

  test('400 naming the field for bad limits and credits', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ratelimits: [{ name: 'r', limit: 0, windowSeconds: 60 }] }, /ratelimits\/0\/limit/],
      [
        {
          ratelimits: [
            { name: 'r', limit: 1, windowSeconds: 60 },
            { name: 'r', limit: 2, windowSeconds: 1 },
          ],
        },
        /ratelimits\/1\/name/,
      ],
      [{ ratelimits: [{ name: 'Bad Name', limit: 1, windowSeconds: 60 }] }, /ratelimits\/0\/name/],
      [{ credits: { remaining: -1 } }, /credits/],
      [
        { credits: { remaining: 1, refill: { amount: 1, intervalSeconds: 0, mode: 'add' } } },
        /credits/,
      ],
      [
        { credits: { remaining: 1, refill: { amount: 1, intervalSeconds: 5, mode: 'double' } } },
        /credits/,
      ],
    ];
    for (const [extra, field] of cases) {
      const res = await node.request({
        method: 'POST',
        url: '/v1/keys',
        payload: { name: 'x', ...extra },
      });
      assert.equal(res.statusCode, 400, JSON.stringify(extra));
      assert.match(res.json().errors[0].field, field);
    }
    assert.equal(
      (await node.request({ method: 'PUT', url: '/v1/owners/a%20b', payload: { ratelimits: [] } }))
        .statusCode,
      400,
    );
  });
});

describe('usage records', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  test('every outcome from every entry point is recorded, and queryable by key and outcome', async () => {
    const { id, key } = await node.createKey({
      env: 'prod',
      scopes: ['read'],
      ratelimits: [{ name: 'r', limit: 1, windowSeconds: 60 }],
    });
    const revoked = await node.createKey();
    await node.request({ method: 'POST', url: `/v1/keys/${revoked.id}/revoke` });
    const calls: Array<[string, Record<string, string>]> = [
      ['/v1/auth', { 'x-api-key': key }],
      ['/v1/auth', { 'x-api-key': key }],
      ['/v1/auth', {}],
      ['/v1/auth', { 'x-api-key': 'kw_prod_nope' }],
      ['/v1/auth', { 'x-api-key': revoked.key }],
      ['/v1/auth?scopes=write', { 'x-api-key': key }],
      ['/v1/auth?env=dev', { 'x-api-key': key }],
    ];
    for (const [url, headers] of calls)
      await node.app.inject({
        url,
        headers: { 'user-agent': 'probe/1', 'x-original-uri': '/orders/7?x=1', ...headers },
      });
    await node.request({ method: 'POST', url: '/v1/verify', payload: { key, cost: 0 } });
    await node.kw.usage.flush();

    const all = (
      await node.request({ method: 'GET', url: '/v1/usage?granularity=day&groupBy=outcome' })
    ).json();
    const byOutcome = Object.fromEntries(
      all.data.map((b: { outcome: string; count: number }) => [b.outcome, b.count]),
    );
    assert.deepEqual(byOutcome, {
      VALID: 2,
      RATE_LIMITED: 1,
      MISSING: 1,
      MALFORMED: 1,
      REVOKED: 1,
      INSUFFICIENT_SCOPE: 1,
      WRONG_ENV: 1,
    });
    const mine = (
      await node.request({ method: 'GET', url: `/v1/usage?keyId=${id}&granularity=hour` })
    ).json();
    assert.equal(
      mine.data.reduce((n: number, b: { count: number }) => n + b.count, 0),
      5,
    );
    const events = await node.kw.store.usage.countEvents({ keyId: id });
    assert.equal(events, 5);
  });
});
