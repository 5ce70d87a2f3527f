import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  callerResponseHeaders,
  goDuration,
  openaiRateLimitHeaders,
  upstreamRequestHeaders,
} from './headers.ts';
import { OpenAIStreamMeter, usageFromResponse } from './openai-usage.ts';
import { parseSseEvent, SseSplitter } from './sse.ts';

test('SSE events are handed on whole, across chunk and UTF-8 boundaries', () => {
  const splitter = new SseSplitter();
  const text = Buffer.from('data: {"a":"é"}\n\ndata: {"b":1}\r\n\r\ndata: partial');
  const cut = text.indexOf(Buffer.from('é')) + 1; // inside the two bytes of é
  assert.deepEqual(splitter.push(text.subarray(0, cut)), []);
  assert.deepEqual(splitter.push(text.subarray(cut)), ['data: {"a":"é"}', 'data: {"b":1}']);
  assert.equal(splitter.end(), 'data: partial');
  assert.deepEqual(parseSseEvent('event: response.completed\ndata: {"x":1}'), {
    event: 'response.completed',
    data: '{"x":1}',
  });
  assert.deepEqual(parseSseEvent('data:a\ndata: b'), { event: null, data: 'a\nb' });
});

test('stream meter: usage recorded; the injected usage chunk and usage:null removed', () => {
  const meter = new OpenAIStreamMeter({ stripUsage: true });
  const chunk = 'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hello"}}],"usage":null}';
  assert.equal(
    meter.event(chunk),
    'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n',
  );
  assert.equal(
    meter.event('data: {"id":"c","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}'),
    '',
  );
  assert.equal(meter.event('data: [DONE]'), 'data: [DONE]\n\n');
  assert.deepEqual(meter.usage, { input: 7, output: 3 });
  assert.equal(meter.outputChars, 5);
});

test('stream meter: passes events through byte for byte when the client asked for usage', () => {
  const meter = new OpenAIStreamMeter({ stripUsage: false });
  const usage = 'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}';
  assert.equal(meter.event(usage), `${usage}\n\n`);
  const tools =
    'data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{\\"a\\""}}]}}]}';
  assert.equal(meter.event(tools), `${tools}\n\n`);
  assert.equal(meter.outputChars, 1 + 4);
  const responses = new OpenAIStreamMeter({ stripUsage: false });
  responses.event(
    'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hi"}',
  );
  responses.event(
    'event: response.completed\ndata: {"type":"response.completed","response":{"usage":{"input_tokens":4,"output_tokens":2}}}',
  );
  assert.deepEqual(responses.usage, { input: 4, output: 2 });
  assert.equal(responses.outputChars, 2);
  assert.equal(meter.event('data: not json'), 'data: not json\n\n');
});

test('usage from JSON answers: chat, embeddings, responses; nonsense ignored', () => {
  assert.deepEqual(usageFromResponse({ usage: { prompt_tokens: 3, completion_tokens: 4 } }), {
    input: 3,
    output: 4,
  });
  assert.deepEqual(usageFromResponse({ usage: { prompt_tokens: 3, total_tokens: 3 } }), {
    input: 3,
    output: 0,
  });
  assert.deepEqual(usageFromResponse({ usage: { input_tokens: 5, output_tokens: 6 } }), {
    input: 5,
    output: 6,
  });
  assert.equal(usageFromResponse({ usage: { prompt_tokens: -1 } }), null);
  assert.equal(usageFromResponse(null), null);
});

test('forwarded headers: never credentials, hop-by-hop, addresses or OpenAI account headers', () => {
  const forwarded = upstreamRequestHeaders(
    {
      authorization: 'Bearer caller',
      'x-api-key': 'caller',
      cookie: 'session=1',
      connection: 'keep-alive, x-private',
      'x-private': '1',
      'transfer-encoding': 'chunked',
      host: 'kw',
      'x-forwarded-for': '1.2.3.4',
      'openai-organization': 'org-x',
      'content-type': 'application/json',
      'openai-beta': 'assistants=v2',
      'x-keywarden-scopes': 'admin',
    },
    { openai: true },
  );
  assert.deepEqual(forwarded, {
    'content-type': 'application/json',
    'openai-beta': 'assistants=v2',
    'accept-encoding': 'identity',
  });
  const back = callerResponseHeaders(
    {
      'content-type': 'text/event-stream',
      'content-length': '9',
      connection: 'close',
      'openai-organization': 'org-x',
      'set-cookie': 'x',
      'x-request-id': 'req_1',
    },
    { openai: true, bodyRewritten: true },
  );
  assert.deepEqual(back, { 'content-type': 'text/event-stream', 'x-request-id': 'req_1' });
});

test('x-ratelimit headers from the tightest limit (fewest left), resets as Go durations', () => {
  assert.equal(goDuration(0), '0s');
  assert.equal(goDuration(45), '45s');
  assert.equal(goDuration(360), '6m0s');
  assert.equal(goDuration(3723), '1h2m3s');
  const limit = (name: string, limit: number, remaining: number, resetSeconds: number) => ({
    subject: 'key:1',
    name,
    limit,
    windowSeconds: 60,
    remaining,
    resetSeconds,
  });
  assert.deepEqual(
    openaiRateLimitHeaders(
      [limit('rpm', 60, 10, 50), limit('rps', 5, 4, 1)],
      [limit('tpm', 1000, 900, 6)],
    ),
    {
      'x-ratelimit-limit-requests': '5',
      'x-ratelimit-remaining-requests': '4',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '900',
      'x-ratelimit-reset-tokens': '6s',
    },
  );
  assert.deepEqual(openaiRateLimitHeaders([], []), {});
});
