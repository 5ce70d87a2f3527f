import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import OpenAI from 'openai';
import {
  MOCK_REPLY,
  type MockOpenAI,
  mockCompletionTokens,
  mockPromptTokens,
  startMockOpenAI,
} from './mock-openai.ts';

/** The mock is checked with the official SDK: if the SDK parses it, the gateway's tests can. */

const API_KEY = `sk-test-${randomUUID()}`;
const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
      required: ['city', 'unit'],
    },
  },
};
const MESSAGES = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Say hello to the keywarden gateway.' },
];

let mock: MockOpenAI;

function client(options: { apiKey?: string; maxRetries?: number } = {}): OpenAI {
  return new OpenAI({
    apiKey: options.apiKey ?? API_KEY,
    baseURL: `${mock.url}/v1`,
    maxRetries: options.maxRetries ?? 0,
  });
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

before(async () => {
  mock = await startMockOpenAI({ apiKey: API_KEY });
});
after(async () => {
  await mock.close();
});
beforeEach(() => mock.reset());

describe('token counting', () => {
  it('follows the documented rule', () => {
    // 4 + ceil(14/4) + 4 + ceil(35/4) = 4 + 4 + 4 + 9
    assert.equal(mockPromptTokens({ model: 'gpt-4o', messages: MESSAGES }), 21);
    assert.equal(
      mockPromptTokens({
        messages: [{ role: 'user', content: [{ type: 'text', text: 'abcdefgh' }] }],
      }),
      6,
    );
    assert.equal(mockPromptTokens({ prompt: 'abcde' }), 2);
    assert.equal(mockPromptTokens({ input: ['abcd', 'abcde', [1, 2, 3]] }), 1 + 2 + 3);
    assert.equal(mockPromptTokens({ input: [5, 6, 7] }), 3);
    assert.equal(mockPromptTokens({ input: 'hi', instructions: 'Be brief.' }), 1 + 4 + 3);
    assert.equal(mockPromptTokens('not a body'), 0);
    assert.equal(mockCompletionTokens(MOCK_REPLY), Math.ceil(MOCK_REPLY.length / 4));
  });
});

describe('chat completions', () => {
  it('answers a non-streamed request with the reply and exact usage', async () => {
    const params = { model: 'gpt-4o', messages: MESSAGES };
    const completion = await client().chat.completions.create(params);

    assert.match(completion.id, /^chatcmpl-/);
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'gpt-4o');
    const choice = completion.choices[0];
    assert.equal(choice?.message.role, 'assistant');
    assert.equal(choice?.message.content, MOCK_REPLY);
    assert.equal(choice?.message.refusal, null);
    assert.equal(choice?.finish_reason, 'stop');
    const prompt = mockPromptTokens(params);
    const produced = mockCompletionTokens(MOCK_REPLY);
    assert.equal(completion.usage?.prompt_tokens, prompt);
    assert.equal(completion.usage?.completion_tokens, produced);
    assert.equal(completion.usage?.total_tokens, prompt + produced);
    assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 0);
    assert.equal(completion.usage?.completion_tokens_details?.reasoning_tokens, 0);
  });

  it('records the request, its raw body and headers before answering', async () => {
    await client().chat.completions.create({ model: 'gpt-4o', messages: MESSAGES });
    assert.equal(mock.requests.length, 1);
    const [request] = mock.requests;
    assert.equal(request?.method, 'POST');
    assert.equal(request?.path, '/v1/chat/completions');
    assert.equal(request?.headers.authorization, `Bearer ${API_KEY}`);
    assert.deepEqual(JSON.parse(request?.body ?? ''), request?.json);
    assert.deepEqual(request?.json, { model: 'gpt-4o', messages: MESSAGES });
    assert.equal(request?.aborted, false);
  });

  it('sends OpenAI-like headers', async () => {
    const { request_id, response } = await client()
      .chat.completions.create({ model: 'gpt-4o', messages: MESSAGES })
      .withResponse();
    assert.match(response.headers.get('x-request-id') ?? '', /^req_[0-9a-f]{32}$/);
    assert.equal(request_id, response.headers.get('x-request-id'));
    assert.match(response.headers.get('openai-processing-ms') ?? '', /^\d+$/);
    assert.equal(response.headers.get('content-type'), 'application/json');
    for (const name of [
      'x-ratelimit-limit-requests',
      'x-ratelimit-remaining-requests',
      'x-ratelimit-reset-requests',
      'x-ratelimit-limit-tokens',
      'x-ratelimit-remaining-tokens',
      'x-ratelimit-reset-tokens',
    ]) {
      assert.ok(response.headers.get(name), `${name} is set`);
    }
  });

  it('streams deltas without usage unless asked', async () => {
    const stream = await client().chat.completions.create({
      model: 'gpt-4o',
      messages: MESSAGES,
      stream: true,
    });
    const chunks = await collect(stream);

    assert.ok(chunks.length >= 4);
    assert.equal(chunks[0]?.choices[0]?.delta.role, 'assistant');
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    assert.equal(text, MOCK_REPLY);
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'stop');
    assert.ok(chunks.every((chunk) => chunk.object === 'chat.completion.chunk'));
    assert.ok(
      chunks.every((chunk) => !('usage' in chunk)),
      'no usage field anywhere',
    );
    assert.equal(new Set(chunks.map((chunk) => chunk.id)).size, 1);
  });

  it('streams a final usage chunk when include_usage is set', async () => {
    const params = { model: 'gpt-4o-mini', messages: MESSAGES };
    const stream = await client().chat.completions.create({
      ...params,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);

    const last = chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.equal(last?.usage?.prompt_tokens, mockPromptTokens(params));
    assert.equal(last?.usage?.completion_tokens, mockCompletionTokens(MOCK_REPLY));
    assert.ok(chunks.slice(0, -1).every((chunk) => chunk.usage === null));
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'stop');
  });

  it('calls the first tool when tools are given', async () => {
    const completion = await client().chat.completions.create({
      model: 'gpt-4o',
      messages: MESSAGES,
      tools: [WEATHER_TOOL],
    });

    const choice = completion.choices[0];
    assert.equal(choice?.finish_reason, 'tool_calls');
    assert.equal(choice?.message.content, null);
    const call = choice?.message.tool_calls?.[0];
    assert.equal(call?.type, 'function');
    assert.match(call?.id ?? '', /^call_/);
    assert.ok(call?.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'mock', unit: 'c' });
    assert.equal(
      completion.usage?.completion_tokens,
      mockCompletionTokens(call.function.name + call.function.arguments),
    );
  });

  it('streams a tool call that the SDK accumulates', async () => {
    const runner = client().chat.completions.stream({
      model: 'gpt-4o',
      messages: MESSAGES,
      tools: [WEATHER_TOOL],
    });
    const final = await runner.finalChatCompletion();

    const call = final.choices[0]?.message.tool_calls?.[0];
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
    assert.ok(call?.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'mock', unit: 'c' });
  });

  it("answers with text when tool_choice is 'none'", async () => {
    const completion = await client().chat.completions.create({
      model: 'gpt-4o',
      messages: MESSAGES,
      tools: [WEATHER_TOOL],
      tool_choice: 'none',
    });
    assert.equal(completion.choices[0]?.message.content, MOCK_REPLY);
    assert.equal(completion.choices[0]?.message.tool_calls, undefined);
  });
});

describe('legacy completions', () => {
  it('answers non-streamed and streamed requests', async () => {
    const params = { model: 'gpt-3.5-turbo-instruct', prompt: 'Say hello.' };
    const completion = await client().completions.create(params);
    assert.equal(completion.object, 'text_completion');
    assert.equal(completion.choices[0]?.text, MOCK_REPLY);
    assert.equal(completion.usage?.prompt_tokens, mockPromptTokens(params));
    assert.equal(completion.usage?.completion_tokens, mockCompletionTokens(MOCK_REPLY));

    const stream = await client().completions.create({
      ...params,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);
    assert.equal(chunks.map((chunk) => chunk.choices[0]?.text ?? '').join(''), MOCK_REPLY);
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'stop');
    assert.deepEqual(chunks.at(-1)?.choices, []);
    assert.equal(chunks.at(-1)?.usage?.prompt_tokens, mockPromptTokens(params));
  });
});

describe('embeddings', () => {
  it('returns base64 vectors the SDK decodes, equal to the float ones', async () => {
    const params = { model: 'text-embedding-3-small', input: ['first text', 'second text'] };
    const decoded = await client().embeddings.create(params);
    // the SDK asks for base64 unless told otherwise, and decodes it itself
    assert.deepEqual(mock.requests[0]?.json, { ...params, encoding_format: 'base64' });

    assert.equal(decoded.object, 'list');
    assert.equal(decoded.data.length, 2);
    assert.equal(decoded.data[1]?.index, 1);
    assert.equal(decoded.data[0]?.embedding.length, 8);
    assert.ok(decoded.data[0]?.embedding.every((value) => Math.abs(value) <= 1));
    assert.notDeepEqual(decoded.data[0]?.embedding, decoded.data[1]?.embedding);
    assert.equal(decoded.usage.prompt_tokens, mockPromptTokens(params));
    assert.equal(decoded.usage.total_tokens, mockPromptTokens(params));

    const floats = await client().embeddings.create({ ...params, encoding_format: 'float' });
    assert.deepEqual(
      floats.data.map((item) => item.embedding),
      decoded.data.map((item) => item.embedding),
    );
  });

  it('accepts token arrays and honours dimensions', async () => {
    const result = await client().embeddings.create({
      model: 'text-embedding-3-small',
      input: [
        [1, 2, 3],
        [4, 5],
      ],
      dimensions: 40,
      encoding_format: 'float',
    });
    assert.equal(result.data.length, 2);
    assert.equal(result.data[0]?.embedding.length, 40);
    assert.equal(result.usage.prompt_tokens, 5);
  });
});

describe('models', () => {
  it('lists and retrieves models, 404 for an unknown one', async () => {
    const ids = [];
    for await (const model of client().models.list()) ids.push(model.id);
    for (const id of ['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small', 'mock-slow']) {
      assert.ok(ids.includes(id), `${id} is listed`);
    }

    const model = await client().models.retrieve('gpt-4o');
    assert.equal(model.id, 'gpt-4o');
    assert.equal(model.object, 'model');
    assert.equal(typeof model.created, 'number');
    assert.equal(model.owned_by, 'system');

    await assert.rejects(client().models.retrieve('gpt-nope'), (error) => {
      assert.ok(error instanceof OpenAI.NotFoundError);
      assert.equal(error.code, 'model_not_found');
      return true;
    });
  });
});

describe('responses', () => {
  it('answers with output_text and usage', async () => {
    const params = { model: 'gpt-4o', input: 'Say hello.', instructions: 'Be brief.' };
    const response = await client().responses.create(params);

    assert.match(response.id, /^resp_/);
    assert.equal(response.object, 'response');
    assert.equal(response.status, 'completed');
    assert.equal(response.output_text, MOCK_REPLY);
    assert.equal(response.instructions, 'Be brief.');
    assert.equal(response.usage?.input_tokens, mockPromptTokens(params));
    assert.equal(response.usage?.output_tokens, mockCompletionTokens(MOCK_REPLY));
    assert.equal(
      response.usage?.total_tokens,
      mockPromptTokens(params) + mockCompletionTokens(MOCK_REPLY),
    );
    assert.equal(response.usage?.input_tokens_details.cached_tokens, 0);
  });

  it('streams the event sequence, with usage in response.completed', async () => {
    const params = { model: 'gpt-4o', input: [{ role: 'user' as const, content: 'Hello?' }] };
    const events = await collect(await client().responses.create({ ...params, stream: true }));

    const types = events.map((event) => event.type);
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    assert.ok(types.includes('response.output_item.added'));
    assert.deepEqual(
      events.map((event) => event.sequence_number),
      events.map((_, index) => index),
    );
    const text = events
      .map((event) => (event.type === 'response.output_text.delta' ? event.delta : ''))
      .join('');
    assert.equal(text, MOCK_REPLY);
    assert.ok(types.filter((type) => type === 'response.output_text.delta').length > 1);
    const completed = events.at(-1);
    assert.ok(completed?.type === 'response.completed');
    assert.equal(completed.response.usage?.input_tokens, mockPromptTokens(params));
    assert.equal(completed.response.usage?.output_tokens, mockCompletionTokens(MOCK_REPLY));
  });

  it("is accumulated by the SDK's stream helper", async () => {
    const stream = client().responses.stream({ model: 'gpt-4o', input: 'Hello?' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.snapshot));
    const final = await stream.finalResponse();
    // the helper's final response has no output_text (an SDK quirk); read the output item
    const message = final.output[0];
    assert.ok(message?.type === 'message');
    assert.deepEqual(
      message.content.map((part) => (part.type === 'output_text' ? part.text : '')),
      [MOCK_REPLY],
    );
    assert.equal(final.status, 'completed');
    assert.equal(deltas.at(-1), MOCK_REPLY, 'the snapshot accumulated from the deltas');
  });
});

describe('errors', () => {
  it('rejects a wrong key with 401 invalid_api_key, without echoing it', async () => {
    const wrongKey = `sk-test-${randomUUID()}`;
    await assert.rejects(
      client({ apiKey: wrongKey }).chat.completions.create({ model: 'gpt-4o', messages: MESSAGES }),
      (error) => {
        assert.ok(error instanceof OpenAI.AuthenticationError);
        assert.equal(error.status, 401);
        assert.equal(error.code, 'invalid_api_key');
        assert.equal(error.type, 'invalid_request_error');
        assert.ok(!error.message.includes(wrongKey));
        return true;
      },
    );
    assert.equal(mock.requests.length, 1, 'rejected requests are recorded too');
  });

  it('rejects a missing key, an unknown path and invalid JSON in the error shape', async () => {
    const missing = await fetch(`${mock.url}/v1/models`);
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as OpenAIErrorBody).error.code, 'invalid_api_key');

    const authorization = `Bearer ${API_KEY}`;
    const unknown = await fetch(`${mock.url}/v1/nope`, { headers: { authorization } });
    assert.equal(unknown.status, 404);
    assert.equal(
      ((await unknown.json()) as OpenAIErrorBody).error.message,
      'Invalid URL (GET /v1/nope)',
    );

    const invalid = await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: '{"model": ',
    });
    assert.equal(invalid.status, 400);
    const body = (await invalid.json()) as OpenAIErrorBody;
    assert.equal(body.error.type, 'invalid_request_error');
    assert.equal(body.error.param, null);
    assert.equal(mock.requests.at(-1)?.body, '{"model": ');
    assert.equal(mock.requests.at(-1)?.json, null);
  });

  it('surfaces mock-error-429 as RateLimitError; the SDK retries it quickly', async () => {
    const params = { model: 'mock-error-429', messages: MESSAGES };
    await assert.rejects(client().chat.completions.create(params), (error) => {
      assert.ok(error instanceof OpenAI.RateLimitError);
      assert.equal(error.code, 'rate_limit_exceeded');
      assert.equal(error.headers.get('retry-after-ms'), '10');
      return true;
    });
    mock.reset();
    await assert.rejects(
      client({ maxRetries: 2 }).chat.completions.create(params),
      OpenAI.RateLimitError,
    );
    assert.equal(mock.requests.length, 3);
  });

  it('surfaces mock-error-500 and mock-error-400', async () => {
    await assert.rejects(
      client().chat.completions.create({ model: 'mock-error-500', messages: MESSAGES }),
      (error) => {
        assert.ok(error instanceof OpenAI.InternalServerError);
        assert.equal(error.type, 'server_error');
        return true;
      },
    );
    await assert.rejects(
      client().embeddings.create({ model: 'mock-error-400', input: 'x' }),
      (error) => {
        assert.ok(error instanceof OpenAI.BadRequestError);
        assert.equal(error.type, 'invalid_request_error');
        assert.equal(error.param, 'temperature');
        return true;
      },
    );
  });

  it('rejects a chat request without messages', async () => {
    await assert.rejects(
      client().chat.completions.create({ model: 'gpt-4o' } as never),
      (error) => {
        assert.ok(error instanceof OpenAI.BadRequestError);
        assert.equal(error.param, 'messages');
        assert.equal(error.code, 'missing_required_parameter');
        return true;
      },
    );
  });
});

describe('cut and slow upstreams', () => {
  it('mock-cut breaks a stream after the role chunk and three deltas', async () => {
    const stream = await client().chat.completions.create({
      model: 'mock-cut',
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    await assert.rejects(async () => {
      for await (const chunk of stream) chunks.push(chunk);
    });
    assert.equal(chunks.length, 4);
    assert.ok(chunks.every((chunk) => !chunk.usage));
    assert.equal(mock.requests[0]?.aborted, false, 'a cut by the mock is not a client abort');
  });

  it('mock-cut breaks a non-streamed answer and a responses stream', async () => {
    await assert.rejects(
      client().chat.completions.create({ model: 'mock-cut', messages: MESSAGES }),
    );
    const events: string[] = [];
    await assert.rejects(async () => {
      const stream = await client().responses.create({
        model: 'mock-cut',
        input: 'x',
        stream: true,
      });
      for await (const event of stream) events.push(event.type);
    });
    assert.ok(!events.includes('response.completed'));
    assert.equal(events.filter((type) => type === 'response.output_text.delta').length, 3);
  });

  it('mock-slow delays a non-streamed answer', async () => {
    const started = performance.now();
    const completion = await client().chat.completions.create({
      model: 'mock-slow',
      messages: MESSAGES,
    });
    assert.equal(completion.choices[0]?.message.content, MOCK_REPLY);
    assert.ok(performance.now() - started >= 350);
  });

  it('records a client abort of a slow stream and resolves nextAbort()', async () => {
    const controller = new AbortController();
    const stream = await client().chat.completions.create(
      { model: 'mock-slow', messages: MESSAGES, stream: true },
      { signal: controller.signal },
    );
    let received = 0;
    for await (const _chunk of stream) {
      received++;
      controller.abort();
    }
    const aborted = await mock.nextAbort();

    assert.equal(received, 1);
    assert.equal(aborted.aborted, true);
    assert.equal(aborted.path, '/v1/chat/completions');
    assert.equal(mock.requests[0], aborted);
  });

  it('records a client that gives up on a slow non-streamed answer', async () => {
    await assert.rejects(
      client().chat.completions.create(
        { model: 'mock-slow', messages: MESSAGES },
        { signal: AbortSignal.timeout(100) },
      ),
      OpenAI.APIUserAbortError,
    );
    const aborted = await mock.nextAbort();
    assert.equal(aborted.aborted, true);
    assert.deepEqual(aborted.json, { model: 'mock-slow', messages: MESSAGES });
  });

  it('records a client that goes away mid-body, with the part it sent', async () => {
    const partial = '{"model":"gpt-4o",';
    const req = request(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-length': '1000' },
    });
    req.on('error', () => {});
    req.write(partial, () => setTimeout(() => req.destroy(), 20));
    const aborted = await mock.nextAbort();
    assert.equal(aborted.aborted, true);
    assert.equal(aborted.body, partial);
    assert.equal(aborted.json, null);
    assert.deepEqual(mock.requests, [aborted]);
  });

  it('paces streamed chunks with chunkDelayMs for every model', async () => {
    const paced = await startMockOpenAI({ apiKey: API_KEY, chunkDelayMs: 30 });
    try {
      const sdk = new OpenAI({ apiKey: API_KEY, baseURL: `${paced.url}/v1`, maxRetries: 0 });
      const started = performance.now();
      const stream = await sdk.chat.completions.create({
        model: 'gpt-4o',
        messages: MESSAGES,
        stream: true,
      });
      const chunks = await collect(stream);
      // n chunks plus [DONE]: n gaps of 30 ms
      assert.ok(performance.now() - started >= chunks.length * 30 - 10);
    } finally {
      await paced.close();
    }
  });
});

interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
