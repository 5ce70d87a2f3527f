import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FuzzRequest, FuzzResponse } from './client.ts';
import { applyMutation } from './mutations.ts';
import { judge } from './oracle.ts';

/** The oracle is what makes the fuzz suite fail: it must not be lenient by accident. */
const req = (path: string, method = 'GET'): FuzzRequest => ({
  method,
  path,
  headers: {},
  body: { kind: 'none' },
});
const res = (status: number, type: string, body: unknown, headers = {}): FuzzResponse => ({
  status,
  headers: { 'content-type': type, ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
  ms: 1,
});
const PROBLEM = 'application/problem+json; charset=utf-8';

test('5xx, a 4xx that is not problem+json, a problem without a code: each fails', () => {
  assert.match(String(judge(req('/v1/keys'), res(502, PROBLEM, { code: 'X' }), [])), /502/);
  assert.match(
    String(judge(req('/v1/keys'), res(400, 'application/json', { error: 'Bad Request' }), [])),
    /not problem\+json/,
  );
  assert.match(
    String(judge(req('/v1/keys'), res(404, PROBLEM, { title: 'x' }), [])),
    /without a code/,
  );
  assert.equal(
    judge(req('/v1/keys'), res(404, PROBLEM, { code: 'ROUTE_NOT_FOUND', status: 404 }), []),
    null,
  );
});

test('on /gw/openai, however spelled, a 4xx must be OpenAI’s error shape', () => {
  const openai = { error: { message: 'no', type: 'invalid_request_error' } };
  assert.equal(judge(req('/gw/openai/v1/models'), res(401, 'application/json', openai), []), null);
  assert.match(
    String(judge(req('/gw/%6fpenai/v1/models'), res(415, PROBLEM, { code: 'X' }), [])),
    /OpenAI/,
  );
  assert.match(
    String(judge(req('/g%77/openai/v1'), res(400, PROBLEM, { code: 'X' }), [])),
    /OpenAI/,
  );
  assert.equal(
    judge(req('/gw%2fopenai/v1'), res(404, PROBLEM, { code: 'ROUTE_NOT_FOUND' }), []),
    null,
  );
  assert.equal(judge(req('/gw/generic/x'), res(401, PROBLEM, { code: 'MISSING' }), []), null);
  // What the echo upstream answered itself passes through.
  assert.equal(
    judge(req('/gw/generic/x'), res(404, 'text/plain', 'no', { 'x-served-by': 'echo' }), []),
    null,
  );
});

test('a secret echoed in an answer fails; a stored lone surrogate or NUL fails', () => {
  assert.match(
    String(
      judge(req('/v1/keys'), res(400, PROBLEM, { code: 'X', detail: 'kw_dev_secret' }), [
        'kw_dev_secret',
      ]),
    ),
    /echoed/,
  );
  assert.match(
    String(judge(req('/v1/keys', 'POST'), res(201, 'application/json', '{"name":"a\\ud800"}'), [])),
    /lone surrogate/,
  );
  assert.match(
    String(judge(req('/v1/keys', 'POST'), res(201, 'application/json', '{"name":"a\\u0000"}'), [])),
    /NUL/,
  );
  assert.equal(
    judge(req('/v1/keys', 'POST'), res(201, 'application/json', '{"name":"😀"}'), []),
    null,
  );
});

test('mutations keep what they promise: pollution keys stay own keys, deep nesting is deep', () => {
  const polluted = applyMutation(
    { name: 'x' },
    { op: 'pollute', at: 0, key: '__proto__', value: { admin: true } },
  );
  assert.equal(polluted.kind, 'text');
  assert.match(
    polluted.kind === 'text' ? polluted.text : '',
    /^\{"__proto__":\{"admin":true\},"name":"x"\}$/,
  );
  const deep = applyMutation({ a: 1 }, { op: 'deep', at: 1, depth: 5000, brackets: '[]' });
  assert.equal(deep.kind === 'text' ? deep.text.split('[').length - 1 : 0, 5000);
  const bad = applyMutation({ name: 'x' }, { op: 'bad-utf8', at: 1, bytes: 'ff' });
  assert.ok(bad.kind === 'bytes' && Buffer.from(bad.hex, 'hex').includes(0xff));
});
