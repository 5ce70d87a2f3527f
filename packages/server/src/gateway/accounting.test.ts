import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startTestNode, type TestNode } from '../testing/harness.ts';
import type { StoredUsageEvent } from '../usage/index.ts';
import {
  MOCK_REPLY,
  type MockOpenAI,
  mockCompletionTokens,
  mockPromptTokens,
  startMockOpenAI,
} from './testing/mock-openai.ts';

/**
 * What users bill from (issue #13): built-in prices for OpenAI's models, calls to a model
 * without a price recorded as unpriced (never as $0), and refusals that say what to do.
 * Driven with the official SDK against the mock, with no price given to the upstream: the
 * built-in table is what prices.
 */
describe('gateway accounting', () => {
  let node: TestNode;
  let mock: MockOpenAI;
  let base: string;

  before(async () => {
    const secret = `sk-test-${randomUUID()}`;
    mock = await startMockOpenAI({ apiKey: secret });
    node = await startTestNode();
    await node.app.listen({ port: 0, host: '127.0.0.1' });
    const address = node.app.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
    const created = await node.request({
      method: 'POST',
      url: '/v1/upstreams',
      payload: { name: 'openai', type: 'openai', baseUrl: mock.url, secret },
    });
    assert.equal(created.statusCode, 201, created.body);
  });

  after(async () => {
    await node?.close();
    await mock?.close();
  });

  const client = (apiKey: string) =>
    new OpenAI({ apiKey, baseURL: `${base}/gw/openai/v1`, maxRetries: 0 });
  const ask = (apiKey: string, model: string, extra: Record<string, unknown> = {}) =>
    client(apiKey).chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Say hello' }],
      ...extra,
    });

  async function usageOf(keyId: string): Promise<StoredUsageEvent[]> {
    await node.kw.usage.flush();
    return node.kw.store.usage.listEvents({ keyId, limit: 100 });
  }

  test("gpt-4, the lesson's model, is priced by the built-in list ($30 / $60 per 1M)", async () => {
    const { id, key } = await node.createKey({ scopes: ['openai:write'] });
    mock.reset();
    await ask(key, 'gpt-4');
    const [event] = await usageOf(id);
    const tokensIn = mockPromptTokens(mock.requests[0]?.json);
    const tokensOut = mockCompletionTokens(MOCK_REPLY);
    assert.equal(event?.costMicros, Math.ceil(tokensIn * 30 + tokensOut * 60));
    assert.equal(event?.unpriced, undefined);
  });

  test('a model without a price: tokens recorded, cost unknown (not 0), counted in roll-ups, usage and metrics', async () => {
    const { id, key } = await node.createKey({ scopes: ['openai:write'] });
    mock.reset();
    await ask(key, 'my-own-model');
    const [event] = await usageOf(id);
    assert.ok(event);
    assert.ok((event.tokensIn ?? 0) > 0, 'tokens are recorded');
    assert.equal(event.costMicros, null, 'the cost is unknown, not zero');
    assert.equal(event.unpriced, true);

    const report = await node.request({ method: 'GET', url: `/v1/usage?keyId=${id}` });
    assert.equal(report.statusCode, 200, report.body);
    const [bucket] = report.json().data;
    assert.equal(bucket.unpriced, 1);
    assert.equal(bucket.costMicros, 0);
    assert.equal(bucket.costUsd, '0.000000');

    const metrics = await node.request({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /^keywarden_gateway_unpriced_calls_total 1$/m);
  });

  test("a budgeted key's refusal of a model without a price says so and how to add one", async () => {
    const { key } = await node.createKey({
      scopes: ['openai:write'],
      budgets: [{ name: 'monthly', amount: 5, period: 'month' }],
    });
    mock.reset();
    const refused = await ask(key, 'my-own-model').catch((e: unknown) => e);
    assert.ok(refused instanceof OpenAI.PermissionDeniedError);
    assert.equal(refused.code, 'model_not_allowed');
    assert.match(refused.message, /"my-own-model" has no price/);
    assert.match(
      refused.message,
      /keywarden upstreams update openai --price my-own-model=INPUT,OUTPUT/,
    );
    assert.equal(mock.requests.length, 0);
  });

  test('a reservation that does not fit names the budget, the dollars and max_tokens', async () => {
    const { key } = await node.createKey({
      scopes: ['openai:write'],
      budgets: [{ name: 'daily', amount: 0.001, period: 'day' }],
    });
    mock.reset();
    // gpt-4o-mini, no max_tokens: 4,096 output tokens at $0.60 per 1M are $0.0025 alone.
    const refused = await ask(key, 'gpt-4o-mini').catch((e: unknown) => e);
    assert.ok(refused instanceof OpenAI.RateLimitError);
    assert.equal(refused.code, 'insufficient_quota');
    assert.match(
      refused.message,
      /this request reserves up to \$0\.00\d+ for its prompt and 4,096 output tokens \(the default when the request sets no max_tokens\)/,
    );
    assert.match(refused.message, /the budget "daily" has \$0\.0010 left of \$0\.0010 this day/);
    assert.match(refused.message, /set max_tokens/);
    assert.doesNotMatch(refused.message, /spent/);
    assert.equal(mock.requests.length, 0);
    // With max_tokens the same budget takes the call.
    await ask(key, 'gpt-4o-mini', { max_tokens: 100 });
    assert.equal(mock.requests.length, 1);
  });

  test('a total budget is named in its refusal', async () => {
    const { key } = await node.createKey({
      scopes: ['openai:write'],
      budgets: [{ name: 'total', amount: 0.0001, period: 'total' }],
    });
    const refused = await ask(key, 'gpt-4o-mini', { max_tokens: 1000 }).catch((e: unknown) => e);
    assert.ok(refused instanceof OpenAI.RateLimitError);
    assert.match(
      refused.message,
      /the budget "total" has \$0\.0001 left of \$0\.0001 in total \(it never resets\)/,
    );
  });

  test('a budget smaller than one default reservation warns on create, update and owners', async () => {
    const created = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload: { name: 'tiny', budgets: [{ name: 'daily', amount: 0.001, period: 'day' }] },
    });
    assert.equal(created.statusCode, 201, created.body);
    // 4,096 default output tokens at $0.40 per 1M (ada, first of the cheapest): $0.0016384.
    assert.deepEqual(created.json().warnings, [
      'budget "daily" ($0.0010) is less than what one request without max_tokens reserves: 4,096 output tokens of ada, the cheapest model allowed, reserve $0.001639. Such requests will be refused; requests that set max_tokens low enough pass',
    ]);
    const id = created.json().id;
    const roomy = await node.request({
      method: 'PATCH',
      url: `/v1/keys/${id}`,
      payload: { budgets: [{ name: 'daily', amount: 1, period: 'day' }] },
    });
    assert.equal(roomy.statusCode, 200, roomy.body);
    assert.equal(roomy.json().warnings, undefined);
    const gpt4 = await node.request({
      method: 'PATCH',
      url: `/v1/keys/${id}`,
      payload: { models: ['gpt-4'], budgets: [{ name: 'daily', amount: 0.2, period: 'day' }] },
    });
    assert.match(
      gpt4.json().warnings[0],
      /4,096 output tokens of gpt-4, the cheapest model allowed, reserve \$0\.24576\./,
    );
    const owner = await node.request({
      method: 'PUT',
      url: '/v1/owners/tiny-team',
      payload: { budgets: [{ name: 'team', amount: 0.0001, period: 'month' }] },
    });
    assert.equal(owner.statusCode, 200, owner.body);
    assert.match(owner.json().warnings[0], /^budget "team" \(\$0\.0001\) is less than/);
  });

  test("the lesson's snippet: new OpenAI() from OPENAI_API_KEY / OPENAI_BASE_URL, gpt-4, a budgeted key, cost in dollars", async () => {
    const { id, key } = await node.createKey({
      scopes: ['openai:write'],
      budgets: [{ name: 'monthly', amount: 5, period: 'month' }],
    });
    const saved = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL };
    process.env.OPENAI_API_KEY = key;
    process.env.OPENAI_BASE_URL = `${base}/gw/openai/v1`;
    try {
      mock.reset();
      const client = new OpenAI({ maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: 'gpt-4',
        messages: [{ role: 'user', content: 'Say hello' }],
      });
      assert.equal(completion.choices[0]?.message.content, MOCK_REPLY);
    } finally {
      for (const [name, value] of [
        ['OPENAI_API_KEY', saved.key],
        ['OPENAI_BASE_URL', saved.url],
      ] as const)
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
    }
    await node.kw.usage.flush();
    const report = await node.request({ method: 'GET', url: `/v1/usage?keyId=${id}` });
    const [bucket] = report.json().data;
    const tokensIn = mockPromptTokens(mock.requests[0]?.json);
    const expected = Math.ceil(tokensIn * 30 + mockCompletionTokens(MOCK_REPLY) * 60);
    assert.equal(bucket.costMicros, expected);
    assert.equal(bucket.costUsd, `0.${String(expected).padStart(6, '0')}`);
    assert.equal(bucket.unpriced, 0);
  });
});
