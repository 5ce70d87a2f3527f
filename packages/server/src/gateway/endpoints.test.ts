import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  httpRouteScope,
  openaiEndpoint,
  openaiScope,
  pathMatches,
  splitGatewayPath,
} from './endpoints.ts';

test('OpenAI endpoints are named by resource, ids dropped', () => {
  const name = (path: string) => openaiEndpoint(splitGatewayPath(path) ?? []);
  assert.equal(name('/v1/chat/completions'), 'chat.completions');
  assert.equal(name('/v1/chat/completions/chatcmpl-1/messages'), 'chat.completions');
  assert.equal(name('/v1/models/gpt-4o'), 'models');
  assert.equal(name('/v1/embeddings'), 'embeddings');
  assert.equal(name('/v1/files/file-abc/content'), 'files');
  assert.equal(name('/v1/audio/transcriptions'), 'audio.transcriptions');
  assert.equal(name('/v1/fine_tuning/jobs/ftjob-1/events'), 'fine_tuning.jobs');
  assert.equal(name('/v1/responses'), 'responses');
  assert.equal(
    name('/chat/completions'),
    'chat.completions',
    'a base URL that already ends in /v1',
  );
  assert.equal(name('/v1'), null);
  assert.equal(name('/v1/Chat'), null, 'not a resource name');
});

test('OpenAI scopes: GET/HEAD read, every other method writes', () => {
  const segments = ['v1', 'chat', 'completions'];
  assert.equal(openaiScope('openai', 'POST', segments), 'openai/chat.completions:write');
  assert.equal(openaiScope('openai', 'GET', ['v1', 'models']), 'openai/models:read');
  assert.equal(openaiScope('openai', 'HEAD', ['v1', 'models']), 'openai/models:read');
  assert.equal(openaiScope('openai', 'DELETE', ['v1', 'files', 'f']), 'openai/files:write');
});

test('generic route maps: first match wins, * is one segment, a final ** the rest', () => {
  const routes = [
    { method: 'GET', path: '/v1/things/*', scope: 'things:read' },
    { method: 'POST', path: '/v1/things/**', scope: 'things:write' },
    { method: '*', path: '/admin/**', scope: 'things:admin' },
  ];
  assert.equal(httpRouteScope('api', routes, 'GET', ['v1', 'things', '42']), 'things:read');
  assert.equal(httpRouteScope('api', routes, 'GET', ['v1', 'things', '42', 'x']), null);
  assert.equal(httpRouteScope('api', routes, 'POST', ['v1', 'things']), 'things:write');
  assert.equal(httpRouteScope('api', routes, 'POST', ['v1', 'things', 'a', 'b']), 'things:write');
  assert.equal(httpRouteScope('api', routes, 'DELETE', ['admin']), 'things:admin');
  assert.equal(httpRouteScope('api', routes, 'DELETE', ['v1', 'things', '42']), null);
  assert.equal(httpRouteScope('api', [], 'GET', ['anything']), 'api:read');
  assert.equal(httpRouteScope('api', [], 'PUT', ['anything']), 'api:write');
  assert.equal(pathMatches('/', []), true);
  assert.equal(pathMatches('/a', []), false);
});

test('paths that could mean two things are refused', () => {
  assert.deepEqual(splitGatewayPath('/v1/models/'), ['v1', 'models']);
  assert.deepEqual(splitGatewayPath('/v1/a%20b'), ['v1', 'a b']);
  assert.deepEqual(splitGatewayPath(''), []);
  for (const bad of [
    '/v1/../admin',
    '/v1/%2e%2e/admin',
    '/v1/a%2fb',
    '/v1//x',
    '/v1/a%5cb',
    '/v1/%00',
    '/v1/%zz',
    'v1',
  ])
    assert.equal(splitGatewayPath(bad), null, bad);
});
