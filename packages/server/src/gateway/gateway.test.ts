import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { startTestNode, type TestNode } from '../testing/harness.ts';
import type { StoredUsageEvent } from '../usage/index.ts';
import type { OpenAIErrorBody } from './openai-errors.ts';
import {
  MOCK_REPLY,
  type MockOpenAI,
  mockCompletionTokens,
  mockPromptTokens,
  startMockOpenAI,
} from './testing/mock-openai.ts';

/** JSON.rawJSON (Node 22+) lets the gateway forward a number's exact text. */
const KEEPS_NUMBER_TEXT = typeof (JSON as { rawJSON?: unknown }).rawJSON === 'function';

/**
 * The gateway driven the way users drive it: the official `openai` SDK (v6) with
 * `baseURL: http://<keywarden>/gw/openai/v1` and a keywarden key, against a faithful mock of
 * OpenAI that holds its own secret. Every test also checks what reached the upstream.
 */

// Prices for the mock's models, in units per 1M tokens (the API's form).
const PRICES = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'mock-slow': { input: 1, output: 2 },
};

/**
 * Behind a load balancer (KEYWARDEN_TRUSTED_PROXIES set) the client's address comes from
 * X-Forwarded-For: a different code path in Fastify, which once crashed the process when read
 * after the answer. Every test runs in both configurations.
 */
const CONFIGURATIONS = [
  { name: 'direct', env: {} },
  { name: 'behind trusted proxies', env: { KEYWARDEN_TRUSTED_PROXIES: '127.0.0.1/32, ::1/128' } },
];

for (const configuration of CONFIGURATIONS)
  describe(`gateway with the openai SDK (${configuration.name})`, () => {
    let node: TestNode;
    let mock: MockOpenAI;
    let upstreamSecret: string;
    let base: string;

    before(async () => {
      upstreamSecret = `sk-test-${randomUUID()}`;
      mock = await startMockOpenAI({ apiKey: upstreamSecret });
      node = await startTestNode({ env: configuration.env });
      await node.app.listen({ port: 0, host: '127.0.0.1' });
      const address = node.app.server.address();
      assert.ok(address && typeof address === 'object');
      base = `http://127.0.0.1:${address.port}`;
      const created = await node.request({
        method: 'POST',
        url: '/v1/upstreams',
        payload: {
          name: 'openai',
          type: 'openai',
          baseUrl: mock.url,
          secret: upstreamSecret,
          prices: PRICES,
        },
      });
      assert.equal(created.statusCode, 201, created.body);
    });

    after(async () => {
      await node?.close();
      await mock?.close();
    });

    const client = (
      apiKey: string,
      options: Partial<ConstructorParameters<typeof OpenAI>[0]> = {},
    ) => new OpenAI({ apiKey, baseURL: `${base}/gw/openai/v1`, maxRetries: 0, ...options });

    async function usageOf(keyId: string): Promise<StoredUsageEvent[]> {
      await node.kw.usage.flush();
      return node.kw.store.usage.listEvents({ keyId, limit: 100 });
    }

    /** The caller's key must never reach the upstream: not in a header, not in a body. */
    function assertNeverForwarded(key: string) {
      for (const received of mock.requests) {
        assert.ok(
          !JSON.stringify(received.headers).includes(key),
          `key forwarded in headers to ${received.path}`,
        );
        assert.ok(!received.body.includes(key), `key forwarded in the body to ${received.path}`);
      }
    }

    test('chat completion: the upstream gets its own secret, never the caller key; usage is metered and priced', async () => {
      const { id, key } = await node.createKey({ scopes: ['openai:write'] });
      mock.reset();
      const completion = await client(key).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Say hello' }],
      });
      assert.equal(completion.choices[0]?.message.content, MOCK_REPLY);
      assert.equal(mock.requests.length, 1);
      assert.equal(mock.requests[0]?.headers.authorization, `Bearer ${upstreamSecret}`);
      assertNeverForwarded(key);

      const [event] = await usageOf(id);
      assert.ok(event);
      assert.equal(event.entryPoint, 'gateway');
      assert.equal(event.outcome, 'VALID');
      assert.equal(event.status, 200);
      const tokensIn = mockPromptTokens(mock.requests[0]?.json);
      const tokensOut = mockCompletionTokens(MOCK_REPLY);
      assert.equal(event.tokensIn, tokensIn);
      assert.equal(event.tokensOut, tokensOut);
      assert.equal(event.costMicros, Math.ceil((tokensIn * 150_000 + tokensOut * 600_000) / 1e6));
    });

    test('streaming without include_usage: usage is asked for upstream, metered, and hidden from the client', async () => {
      const { id, key } = await node.createKey({ scopes: ['openai/chat.completions:write'] });
      mock.reset();
      const stream = await client(key).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Stream please' }],
        stream: true,
      });
      let text = '';
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        assert.ok(!('usage' in chunk), 'the client did not ask for usage');
        assert.ok(chunk.choices.length > 0, 'no usage-only chunk reaches the client');
        text += chunk.choices[0]?.delta.content ?? '';
      }
      assert.ok(chunks > 2);
      assert.equal(text, MOCK_REPLY);
      const sent = mock.requests[0]?.json as { stream_options?: { include_usage?: boolean } };
      assert.equal(sent.stream_options?.include_usage, true);
      const [event] = await usageOf(id);
      const tokensIn = mockPromptTokens(mock.requests[0]?.json);
      const tokensOut = mockCompletionTokens(MOCK_REPLY);
      assert.equal(event?.tokensIn, tokensIn);
      assert.equal(event?.tokensOut, tokensOut);
      assert.equal(event?.costMicros, Math.ceil((tokensIn * 150_000 + tokensOut * 600_000) / 1e6));
    });

    test('streaming with include_usage: the client gets its usage chunk', async () => {
      const { key } = await node.createKey({ scopes: ['write'] });
      const stream = await client(key).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Stream with usage' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
      assert.equal(usage?.completion_tokens, mockCompletionTokens(MOCK_REPLY));
    });

    test('tool calls, plain and streamed', async () => {
      const { key } = await node.createKey({ scopes: ['openai:write'] });
      const tools: OpenAI.ChatCompletionTool[] = [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } } },
          },
        },
      ];
      const messages: OpenAI.ChatCompletionMessageParam[] = [
        { role: 'user', content: 'Weather in Oslo?' },
      ];
      const plain = await client(key).chat.completions.create({
        model: 'gpt-4o-mini',
        messages,
        tools,
      });
      const call = plain.choices[0]?.message.tool_calls?.[0];
      assert.equal(call?.type === 'function' ? call.function.name : null, 'get_weather');

      const runner = client(key).chat.completions.stream({ model: 'gpt-4o-mini', messages, tools });
      const final = await runner.finalChatCompletion();
      const streamed = final.choices[0]?.message.tool_calls?.[0];
      assert.equal(streamed?.type === 'function' ? streamed.function.name : null, 'get_weather');
    });

    test('completions, embeddings, models and responses', async () => {
      const { key } = await node.createKey({ scopes: ['openai:write'] });
      const openai = client(key);
      const completion = await openai.completions.create({
        model: 'gpt-4o-mini',
        prompt: 'Once upon',
      });
      assert.equal(completion.choices[0]?.text, MOCK_REPLY);
      const embedding = await openai.embeddings.create({
        model: 'text-embedding-3-small',
        input: ['a', 'b'],
      });
      assert.equal(embedding.data.length, 2);
      assert.equal(embedding.data[0]?.embedding.length, 8);
      const models = await openai.models.list();
      assert.ok(models.data.some((m) => m.id === 'gpt-4o-mini'));
      const model = await openai.models.retrieve('gpt-4o');
      assert.equal(model.id, 'gpt-4o');
      const response = await openai.responses.create({ model: 'gpt-4o-mini', input: 'Hi' });
      assert.equal(response.output_text, MOCK_REPLY);
      const events: string[] = [];
      const stream = await openai.responses.create({
        model: 'gpt-4o-mini',
        input: 'Hi',
        stream: true,
      });
      for await (const event of stream) events.push(event.type);
      assert.ok(events.includes('response.output_text.delta'));
      assert.equal(events.at(-1), 'response.completed');
    });

    test('upstream errors reach the SDK as the right error class', async () => {
      const { key } = await node.createKey({ scopes: ['openai:write'] });
      const ask = (model: string) =>
        client(key).chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
      await assert.rejects(ask('mock-error-429'), OpenAI.RateLimitError);
      await assert.rejects(ask('mock-error-500'), OpenAI.InternalServerError);
      await assert.rejects(ask('mock-error-400'), OpenAI.BadRequestError);
    });

    test('401 in OpenAI error shape: revoked, unknown and malformed keys; nothing forwarded', async () => {
      const { id, key } = await node.createKey({ scopes: ['openai:write'] });
      const revoked = await node.request({ method: 'POST', url: `/v1/keys/${id}/revoke` });
      assert.equal(revoked.statusCode, 200);
      mock.reset();
      const error = await client(key)
        .chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'x' }],
        })
        .catch((e: unknown) => e);
      assert.ok(error instanceof OpenAI.AuthenticationError);
      assert.equal(error.status, 401);
      assert.equal(error.code, 'invalid_api_key');
      assert.equal(error.type, 'invalid_request_error');
      await assert.rejects(
        client('sk-not-a-keywarden-key').models.list(),
        OpenAI.AuthenticationError,
      );
      const missing = await fetch(`${base}/gw/openai/v1/models`);
      assert.equal(missing.status, 401);
      const body = (await missing.json()) as { error: { code: string; keywarden_code: string } };
      assert.equal(body.error.keywarden_code, 'MISSING');
      assert.equal(mock.requests.length, 0, 'a refused request never reaches the upstream');
    });

    test('403: read-only keys cannot POST, endpoint scopes hold, model allowlists hold', async () => {
      const readOnly = await node.createKey({ scopes: ['openai:read'] });
      assert.ok((await client(readOnly.key).models.list()).data.length > 0);
      const denied = await client(readOnly.key)
        .chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'x' }],
        })
        .catch((e: unknown) => e);
      assert.ok(denied instanceof OpenAI.PermissionDeniedError);
      assert.equal(denied.code, 'insufficient_scope');

      const chatOnly = await node.createKey({ scopes: ['openai/chat.completions:write'] });
      await assert.rejects(
        client(chatOnly.key).embeddings.create({ model: 'text-embedding-3-small', input: 'x' }),
        OpenAI.PermissionDeniedError,
      );

      const mini = await node.createKey({ scopes: ['openai:write'], models: ['gpt-4o-mini*'] });
      mock.reset();
      const wrongModel = await client(mini.key)
        .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      assert.ok(wrongModel instanceof OpenAI.PermissionDeniedError);
      assert.equal(wrongModel.code, 'model_not_allowed');
      assert.equal(mock.requests.length, 0);
      const listed = await client(mini.key).models.list();
      assert.deepEqual(
        listed.data.map((m) => m.id),
        listed.data.map((m) => m.id).filter((id) => id.startsWith('gpt-4o-mini')),
      );
      assert.ok(listed.data.length > 0);
    });

    test('budgets hold under concurrency: 20 requests, a budget for 2, only 2 forwarded', async () => {
      const body = {
        model: 'mock-slow',
        max_tokens: 50,
        messages: [{ role: 'user' as const, content: 'Count to ten' }],
      };
      // The reservation of one request: the prompt estimate plus max_tokens, at mock-slow's price.
      const { estimatePromptTokens } = await import('./tokens.ts');
      const reserve = Math.ceil((estimatePromptTokens(body) * 1_000_000 + 50 * 2_000_000) / 1e6);
      const amount = (reserve * 2.5) / 1e6;
      const { id, key } = await node.createKey({
        scopes: ['openai:write'],
        budgets: [{ name: 'daily', amount: Number(amount.toFixed(6)), period: 'day' }],
      });
      mock.reset();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => client(key).chat.completions.create(body)),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter(
        (r) =>
          r.status === 'rejected' &&
          r.reason instanceof OpenAI.RateLimitError &&
          r.reason.code === 'insufficient_quota',
      );
      assert.equal(ok.length, 2);
      assert.equal(refused.length, 18);
      assert.equal(mock.requests.length, 2);
      const events = await usageOf(id);
      const spent = events.reduce((sum, e) => sum + (e.costMicros ?? 0), 0);
      assert.ok(spent <= reserve * 2.5, `spent ${spent} within the budget`);
      // Identical refusals of one second share a stored row: count events, not rows.
      const exceeded = events.filter((e) => e.outcome === 'BUDGET_EXCEEDED');
      assert.equal(
        exceeded.reduce((n, e) => n + e.count, 0),
        18,
      );
    });

    test("an owner's budget is shared by all of its keys", async () => {
      const body = {
        model: 'mock-slow',
        max_tokens: 50,
        messages: [{ role: 'user' as const, content: 'Shared' }],
      };
      const { estimatePromptTokens } = await import('./tokens.ts');
      const reserve = Math.ceil((estimatePromptTokens(body) * 1_000_000 + 50 * 2_000_000) / 1e6);
      const ownerId = `team-${randomUUID().slice(0, 8)}`;
      const put = await node.request({
        method: 'PUT',
        url: `/v1/owners/${ownerId}`,
        payload: {
          budgets: [
            { name: 'team', amount: Number(((reserve * 1.5) / 1e6).toFixed(6)), period: 'month' },
          ],
        },
      });
      assert.equal(put.statusCode, 200, put.body);
      const a = await node.createKey({ scopes: ['openai:write'], ownerId });
      const b = await node.createKey({ scopes: ['openai:write'], ownerId });
      const results = await Promise.allSettled(
        [a.key, b.key, a.key, b.key].map((key) => client(key).chat.completions.create(body)),
      );
      assert.equal(
        results.filter((r) => r.status === 'fulfilled').length,
        1,
        'one reservation fits the owner budget',
      );
    });

    test('rate limits answer with OpenAI x-ratelimit headers and a 429 the SDK understands', async () => {
      const { key } = await node.createKey({
        scopes: ['openai:write'],
        ratelimits: [
          { name: 'rpm', limit: 2, windowSeconds: 60 },
          { name: 'tpm', limit: 100_000, windowSeconds: 60, unit: 'tokens' },
        ],
      });
      const openai = client(key);
      const first = await openai.chat.completions
        .create({
          model: 'gpt-4o-mini',
          max_tokens: 10,
          messages: [{ role: 'user', content: 'x' }],
        })
        .withResponse();
      assert.equal(first.response.headers.get('x-ratelimit-limit-requests'), '2');
      assert.equal(first.response.headers.get('x-ratelimit-remaining-requests'), '1');
      assert.match(first.response.headers.get('x-ratelimit-reset-requests') ?? '', /^\d+(m\d+)?s$/);
      assert.equal(first.response.headers.get('x-ratelimit-limit-tokens'), '100000');
      assert.ok(Number(first.response.headers.get('x-ratelimit-remaining-tokens')) < 100_000);
      await openai.models.list();
      const limited = await openai.models.list().catch((e: unknown) => e);
      assert.ok(limited instanceof OpenAI.RateLimitError);
      assert.equal(limited.code, 'rate_limit_exceeded');
      assert.ok(Number(limited.headers?.get('retry-after')) > 0);
    });

    test('token limits: a request whose estimate does not fit is refused before forwarding', async () => {
      const { key } = await node.createKey({
        scopes: ['openai:write'],
        ratelimits: [{ name: 'tpm', limit: 100, windowSeconds: 60, unit: 'tokens' }],
      });
      mock.reset();
      const error = await client(key)
        .chat.completions.create({
          model: 'gpt-4o-mini',
          max_tokens: 500,
          messages: [{ role: 'user', content: 'x' }],
        })
        .catch((e: unknown) => e);
      assert.ok(error instanceof OpenAI.RateLimitError);
      assert.equal(error.type, 'tokens');
      assert.equal(mock.requests.length, 0);
    });

    test('an aborted client aborts the upstream request, and the partial stream is estimated', async () => {
      const { id, key } = await node.createKey({ scopes: ['openai:write'] });
      mock.reset();
      const controller = new AbortController();
      const stream = await client(key).chat.completions.create(
        {
          model: 'mock-slow',
          messages: [{ role: 'user', content: 'Take your time' }],
          stream: true,
        },
        { signal: controller.signal },
      );
      const aborted = mock.nextAbort();
      let chunks = 0;
      // The SDK ends the iteration quietly on an abort of its own making.
      for await (const _chunk of stream) {
        chunks++;
        controller.abort();
      }
      assert.equal(chunks, 1);
      const upstreamRequest = await aborted;
      assert.equal(upstreamRequest.aborted, true);
      await waitFor(async () => (await usageOf(id)).length === 1);
      const [event] = await usageOf(id);
      assert.equal(event?.status, 499);
      assert.ok((event?.tokensIn ?? 0) > 0, 'an aborted stream is estimated, not recorded as zero');
    });

    test('an aborted non-streamed request aborts upstream too and is recorded as 499', async () => {
      const { id, key } = await node.createKey({ scopes: ['openai:write'] });
      mock.reset();
      const controller = new AbortController();
      const pending = client(key).chat.completions.create(
        { model: 'mock-slow', messages: [{ role: 'user', content: 'Slowly' }] },
        { signal: controller.signal },
      );
      const aborted = mock.nextAbort();
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(pending, OpenAI.APIUserAbortError);
      assert.equal((await aborted).aborted, true);
      await waitFor(async () => (await usageOf(id)).length === 1);
      assert.equal((await usageOf(id))[0]?.status, 499);
      assert.ok(
        !node.logs.join('\n').includes('"level":50'),
        'no error logged for a client that left',
      );
    });

    test('a cut stream fails on the client and is metered by estimate', async () => {
      const { id, key } = await node.createKey({ scopes: ['openai:write'] });
      const stream = await client(key).chat.completions.create({
        model: 'mock-cut',
        messages: [{ role: 'user', content: 'This will be cut' }],
        stream: true,
      });
      let received = '';
      await assert.rejects(async () => {
        for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
      });
      await waitFor(async () => (await usageOf(id)).length === 1);
      const [event] = await usageOf(id);
      assert.ok(
        (event?.tokensOut ?? 0) > 0,
        'tokens of a cut stream are estimated from what streamed',
      );
      assert.ok(received.length > 0);
    });

    test('no caller key in the logs', async () => {
      const { key } = await node.createKey({ scopes: ['openai:write'] });
      await client(key).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'x' }],
      });
      await client(key)
        .chat.completions.create({
          model: 'mock-error-500',
          messages: [{ role: 'user', content: 'x' }],
        })
        .catch(() => {});
      const logs = node.logs.join('\n');
      assert.ok(!logs.includes(key));
      assert.ok(!logs.includes(upstreamSecret));
    });

    test('a base URL written as OpenAI SDKs write it (…/v1) does not double the version', async () => {
      const created = await node.request({
        method: 'POST',
        url: '/v1/upstreams',
        payload: {
          name: 'openai-v1',
          type: 'openai',
          baseUrl: `${mock.url}/v1`,
          secret: upstreamSecret,
        },
      });
      assert.equal(created.statusCode, 201, created.body);
      const { key } = await node.createKey({ scopes: ['openai-v1:read'] });
      mock.reset();
      const openai = new OpenAI({ apiKey: key, baseURL: `${base}/gw/openai-v1/v1`, maxRetries: 0 });
      assert.ok((await openai.models.list()).data.length > 0);
      assert.equal(mock.requests[0]?.path, '/v1/models');
    });

    test('an upload streamed upstream is answered as the upstream answered, and recorded', async () => {
      // A body the gateway streams (a file upload) detaches the request's socket before the
      // answer: reading the request then crashed the process behind trusted proxies, or
      // answered 500 after the upstream had run the call.
      const { id, key } = await node.createKey({ scopes: ['openai/files:write'] });
      mock.reset();
      const error = await client(key)
        .files.create({ file: await toFile(Buffer.from('{}\n'), 'batch.jsonl'), purpose: 'batch' })
        .catch((e: unknown) => e);
      assert.ok(error instanceof OpenAI.NotFoundError, String(error)); // the mock has no files API
      assert.equal(mock.requests.length, 1);
      assert.equal(mock.requests[0]?.path, '/v1/files');
      const [event] = await usageOf(id);
      assert.equal(event?.status, 404);
      assert.equal(event?.clientIp, '127.0.0.1');
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
    });

    /** A raw request, with exactly the content type (or none) and bytes given. */
    async function send(
      key: string,
      path: string,
      body: string | Buffer | FormData,
      headers: Record<string, string> = {},
    ) {
      const res = await fetch(`${base}/gw/openai${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, ...headers },
        body: typeof body === 'string' || body instanceof FormData ? body : new Uint8Array(body),
      });
      const text = await res.text();
      return {
        status: res.status,
        text,
        json: () => JSON.parse(text) as { error: OpenAIErrorBody['error'] },
      };
    }

    const chat = (model: string) =>
      JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });

    test('the model allowlist holds whatever content type the caller declares', async () => {
      const { key } = await node.createKey({ scopes: ['openai:write'], models: ['gpt-4o-mini'] });
      const declared = [
        null,
        'text/plain',
        'text/json',
        'application/json; charset=utf-8',
        'application/x-www-form-urlencoded',
        'application/octet-stream',
        'multipart/form-data; boundary=abc',
      ];
      for (const type of declared) {
        mock.reset();
        const headers: Record<string, string> = type ? { 'content-type': type } : {};
        // fetch adds text/plain to a string body: a Buffer body goes with no type at all.
        const res = await send(key, '/v1/chat/completions', Buffer.from(chat('gpt-4o')), headers);
        assert.equal(res.status, 403, `${type}: ${res.text}`);
        assert.equal(res.json().error.code, 'model_not_allowed', String(type));
        assert.equal(mock.requests.length, 0, `${type}: nothing reaches the upstream`);
      }
    });

    test('a JSON body under another content type is read, checked, metered and sent as JSON', async () => {
      const { id, key } = await node.createKey({
        scopes: ['openai:write'],
        models: ['gpt-4o-mini'],
      });
      mock.reset();
      const res = await send(key, '/v1/chat/completions', chat('gpt-4o-mini'), {
        'content-type': 'text/plain',
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(mock.requests.length, 1);
      assert.equal(mock.requests[0]?.headers['content-type'], 'application/json');
      const [event] = await usageOf(id);
      assert.equal(event?.tokensIn, mockPromptTokens(mock.requests[0]?.json));
      assert.ok((event?.costMicros ?? 0) > 0, 'priced like any JSON request');
    });

    test('what is checked is what is forwarded: one model, the numbers as sent', async () => {
      const { key } = await node.createKey({ scopes: ['openai:write'], models: ['gpt-4o-mini'] });
      mock.reset();
      // Parsers disagree on duplicate names; the upstream gets the one the gateway checked.
      const twice = `{"model":"gpt-4o-mini","model":"gpt-4o","messages":[{"role":"user","content":"x"}]}`;
      assert.equal((await send(key, '/v1/chat/completions', twice)).status, 403);
      assert.equal(mock.requests.length, 0);
      const allowedLast = `{"model":"gpt-4o","seed":12345678901234567890,"temperature":1.0,"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]}`;
      const res = await send(key, '/v1/chat/completions', allowedLast, {
        'content-type': 'application/json',
      });
      assert.equal(res.status, 200, res.text);
      const forwarded = mock.requests[0]?.body ?? '';
      assert.equal(forwarded.match(/"model"/g)?.length, 1, forwarded);
      assert.ok(forwarded.includes('"model":"gpt-4o-mini"'));
      if (KEEPS_NUMBER_TEXT) {
        assert.ok(forwarded.includes('"seed":12345678901234567890'), forwarded);
        assert.ok(forwarded.includes('"temperature":1.0'), forwarded);
      } else {
        // Node 20 has no JSON.rawJSON: numbers are written back as parsed (docs/gateway.md).
        assert.ok(forwarded.includes('"seed":12345678901234567000'), forwarded);
        assert.ok(forwarded.includes('"temperature":1'), forwarded);
      }
    });

    test('a body that is not JSON is refused in OpenAI shape, before anything is forwarded', async () => {
      const { key } = await node.createKey({ scopes: ['openai:write'] });
      mock.reset();
      const cases: Array<[string | Buffer, Record<string, string>, number, string]> = [
        [
          'model=gpt-4o&messages=x',
          { 'content-type': 'application/x-www-form-urlencoded' },
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        ['model: gpt-4o', { 'content-type': 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
        ['{"model": "gpt-4o",', { 'content-type': 'application/json' }, 400, 'INVALID_JSON'],
        ['["gpt-4o"]', { 'content-type': 'application/json' }, 400, 'INVALID_JSON'],
        ['{"model":["gpt-4o"],"messages":[]}', {}, 400, 'VALIDATION_FAILED'],
        [
          chat('gpt-4o'),
          { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        // Unparsable types: Fastify refuses them before the gateway's handler runs.
        [chat('gpt-4o'), { 'content-type': ';' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
        [chat('gpt-4o'), { 'content-type': 'application/' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ];
      for (const [body, headers, status, code] of cases) {
        const res = await send(key, '/v1/chat/completions', body, headers);
        assert.equal(res.status, status, `${String(body)}: ${res.text}`);
        const { error } = res.json();
        assert.equal(error.keywarden_code, code, String(body));
        assert.equal(typeof error.message, 'string');
        assert.equal(error.type, 'invalid_request_error');
      }
      assert.equal(mock.requests.length, 0);
    });

    test('a URL Fastify cannot decode is refused in OpenAI shape, quoting nothing', async () => {
      const { key } = await node.createKey({ scopes: ['openai:write'] });
      mock.reset();
      for (const path of ['/v1/chat%zz/completions', `/v1/f%u0041iles?api_key=${key}`]) {
        const res = await send(key, path, chat('gpt-4o'));
        assert.equal(res.status, 400, res.text);
        assert.equal(res.json().error.keywarden_code, 'VALIDATION_FAILED', res.text);
        assert.equal(res.json().error.type, 'invalid_request_error');
        assert.ok(!res.text.includes(key), 'the key in the URL is not echoed');
      }
      assert.equal(mock.requests.length, 0);
    });

    test('a key with an allowlist must name its model; batches and realtime run models it cannot check', async () => {
      const { key } = await node.createKey({ scopes: ['openai:write'], models: ['gpt-4o-mini'] });
      mock.reset();
      const noModel = await send(key, '/v1/images/generations', '{"prompt":"a cat"}');
      assert.equal(noModel.status, 403, noModel.text);
      const empty = await send(key, '/v1/chat/completions', '');
      assert.equal(empty.status, 403, empty.text);
      const batch = await send(
        key,
        '/v1/batches',
        '{"input_file_id":"file-1","endpoint":"/v1/chat/completions","completion_window":"24h"}',
      );
      assert.equal(batch.status, 403);
      assert.equal(mock.requests.length, 0);
      // Without an allowlist, scopes alone decide: the batch goes through.
      const free = await node.createKey({ scopes: ['openai/batches:write'] });
      await send(free.key, '/v1/batches', '{"input_file_id":"file-1"}');
      assert.equal(mock.requests.length, 1);
    });

    test('multipart endpoints: the model is read from the form and the form the gateway read is forwarded', async () => {
      const { key } = await node.createKey({ scopes: ['openai:write'], models: ['whisper-1'] });
      const form = (model: string | string[] | null) => {
        const data = new FormData();
        for (const m of model === null ? [] : [model].flat()) data.append('model', m);
        data.append(
          'file',
          new Blob([Buffer.from('RIFF-audio-bytes')], { type: 'audio/wav' }),
          'a.wav',
        );
        return data;
      };
      mock.reset();
      const denied = await send(key, '/v1/audio/transcriptions', form('gpt-4o-transcribe'));
      assert.equal(denied.status, 403, denied.text);
      assert.equal(denied.json().error.code, 'model_not_allowed');
      const missing = await send(key, '/v1/audio/translations', form(null));
      assert.equal(missing.status, 403, missing.text);
      const twice = await send(
        key,
        '/v1/audio/transcriptions',
        form(['whisper-1', 'gpt-4o-transcribe']),
      );
      assert.equal(twice.status, 400, twice.text);
      assert.equal(twice.json().error.param, 'model');
      const edit = await send(key, '/v1/images/edits', form('gpt-image-1'));
      assert.equal(edit.status, 403, edit.text);
      assert.equal(mock.requests.length, 0);

      const allowed = await send(key, '/v1/audio/transcriptions', form('whisper-1'));
      assert.equal(allowed.status, 404, 'the mock has no audio API: the answer is its own');
      const received = mock.requests[0];
      assert.match(String(received?.headers['content-type']), /^multipart\/form-data; boundary=/);
      assert.match(received?.body ?? '', /name="model"\r\n\r\nwhisper-1\r\n/);
      assert.ok(received?.body.includes('RIFF-audio-bytes'));
      assert.ok(received?.body.includes('filename="a.wav"'));
    });

    test('unknown upstream: 404, no lookup storm', async () => {
      const res = await fetch(`${base}/gw/nope/v1/models`, {
        headers: { authorization: 'Bearer x' },
      });
      assert.equal(res.status, 404);
    });
  });

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
