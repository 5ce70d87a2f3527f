import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  canonicalGatewayPath,
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

// Route maps compare decoded, case-folded segments; the forwarded path is their canonical
// spelling. The attack that found it: with `GET /api/admin/** → admin` before `* /** → read`,
// a read key reached /api/ADMIN/users, /api/admin;x/users, /api/admin./users …
const GUARDED = [
  { method: 'GET', path: '/api/admin/**', scope: 'svc:admin' },
  { method: '*', path: '/**', scope: 'svc:read' },
];

function scopeOf(rest: string, method = 'GET'): string | null | 'refused' {
  const path = canonicalGatewayPath(rest);
  return 'refused' in path ? 'refused' : httpRouteScope('svc', GUARDED, method, path.segments);
}

test('route maps match without regard to case, and HEAD as GET', () => {
  for (const path of [
    '/api/ADMIN/users',
    '/api/Admin/users',
    '/API/admin/users',
    '/api/admın/users',
    '/api/adm%C4%B0n/users', // İ: Java's equalsIgnoreCase takes it for i
    '/api/ADMİN/users',
  ])
    assert.equal(scopeOf(path), 'svc:admin', path);
  assert.equal(scopeOf('/api/admin/users', 'HEAD'), 'svc:admin');
  assert.equal(scopeOf('/api/%61dmin/users'), 'svc:admin', 'an escaped letter is the letter');
  assert.equal(scopeOf('/api/other/users'), 'svc:read');
});

test('spellings a server could read as another path are refused', () => {
  for (const path of [
    '/api/admin;x/users',
    '/api/admin%3bx/users',
    '/api/admin./users',
    '/api/admin%2e/users',
    '/api/admin%20/users',
    '/api/%20admin/users',
    '/api/admin%09/users',
    '/api/admin%E2%80%8B/users', // zero-width space
    '/api/%EF%BD%81dmin/users', // fullwidth a
    '/api/admin%2fusers',
    '/api/admin%5cusers',
    '/api//admin/users',
    '/api/x/../admin/users',
    '/api/./admin/users',
    '/api/%2561dmin/users', // %61 once decoded: a server that decodes twice sees admin
    '/api/admin%3Fx/users',
    '/api/%C0%AEadmin', // overlong UTF-8
  ])
    assert.equal(scopeOf(path), 'refused', path);
});

test('the forwarded path is the canonical spelling of the checked segments', () => {
  const forwarded = (rest: string) => {
    const path = canonicalGatewayPath(rest);
    return 'refused' in path ? null : path.path;
  };
  assert.equal(forwarded('/api/%61dmin/users'), '/api/admin/users');
  assert.equal(forwarded('/api/a%20b/c%3Ad/'), '/api/a%20b/c:d/');
  assert.equal(forwarded('/files/caf%C3%A9'), '/files/caf%C3%A9');
  assert.equal(
    forwarded('/things/AbC-1_~'),
    '/things/AbC-1_~',
    'case is kept: ids are case-sensitive',
  );
  assert.equal(forwarded(''), '');
  assert.equal(forwarded('/'), '/');
});

/**
 * How a lenient server could read a path it receives: decoding up to three times, `\` as `/`,
 * `;` parameters stripped, trailing dots and white space trimmed, Unicode compatibility
 * forms folded, case ignored, empty and dot segments resolved. If such a reading lands in the
 * protected area, the gateway must have required the protected scope.
 */
function lenientReading(path: string): string[] {
  let text = path;
  for (let i = 0; i < 3; i++) {
    try {
      text = decodeURIComponent(text);
    } catch {
      break;
    }
  }
  const out: string[] = [];
  for (let segment of text.replace(/\\/g, '/').split('/')) {
    segment = segment.split(';')[0] ?? '';
    segment = segment
      .normalize('NFKC')
      .replace(/[\p{Cf}]/gu, '')
      .replace(/[\s.]+$/u, '')
      .trim()
      .toUpperCase()
      .toLowerCase();
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return out;
}

test('property: no spelling of a protected path reaches a less protected route', () => {
  const encodeChar = (char: string, upper: boolean) =>
    [...Buffer.from(char)]
      .map((b) => `%${b.toString(16).padStart(2, '0')}`)
      .map((e) => (upper ? e.toUpperCase() : e))
      .join('');
  const charVariant = fc.oneof(
    { weight: 6, arbitrary: fc.constant((c: string) => c) },
    { weight: 3, arbitrary: fc.constant((c: string) => c.toUpperCase()) },
    { weight: 2, arbitrary: fc.boolean().map((u) => (c: string) => encodeChar(c, u)) },
    { weight: 1, arbitrary: fc.constant((c: string) => `%25${encodeChar(c, true).slice(1)}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        (c: string) => (c === 'i' ? 'ı' : c),
        (c: string) => (c === 'i' ? '%C4%B1' : c),
        (c: string) => String.fromCodePoint((c.codePointAt(0) ?? 0) + 0xfee0), // fullwidth
      ),
    },
  );
  const suffix = fc.constantFrom(
    '',
    '',
    '',
    ';',
    ';x',
    '.',
    '..',
    '%2e',
    ' ',
    '%20',
    '%09',
    '%00',
    '%0a',
    '%E2%80%8B',
    '%C2%A0',
    '/',
    '%2f',
    '%5c',
    '\\',
    '%3b',
    '%3f',
    '%23',
    '%2500',
    '/.',
    '/..',
    '/x/..',
  );
  const segmentVariant = (segment: string) =>
    fc
      .tuple(
        fc.array(charVariant, { minLength: segment.length, maxLength: segment.length }),
        suffix,
      )
      .map(([variants, end]) => [...segment].map((c, i) => variants[i]!(c)).join('') + end);
  const prefix = fc.constantFrom('', '', '/.', '/x/..', '/', '/%2e');
  const spelling = fc
    .tuple(prefix, segmentVariant('api'), segmentVariant('admin'), segmentVariant('users'))
    .map(([pre, a, b, c]) => `${pre}/${a}/${b}/${c}`);
  fc.assert(
    fc.property(spelling, fc.constantFrom('GET', 'HEAD'), (rest, method) => {
      const path = canonicalGatewayPath(rest);
      if ('refused' in path) return true;
      const reading = lenientReading(path.path);
      if (reading[0] !== 'api' || reading[1] !== 'admin') return true;
      return httpRouteScope('svc', GUARDED, method, path.segments) === 'svc:admin';
    }),
    { numRuns: 3000 },
  );
});
