import { generateKey } from '@keywarden/core';
import fc from 'fast-check';
import type { RouteSpec } from './catalogue.ts';
import type { FuzzRequest } from './client.ts';
import { type Body, bodyArb, bodyBytes, ODD_STRINGS } from './mutations.ts';
import {
  applyPathEdit,
  contentTypeArb,
  forwardedForArb,
  keywardenHeadersArb,
  otherHeadersArb,
  paramArb,
  pathEditArb,
  queryArb,
} from './parts.ts';
import { type Hints, type JsonSchema, valueFor } from './schema-values.ts';
import type { FuzzTarget } from './target.ts';

/** The keys the key-taking routes present, made fresh for each route. */
export interface ProbeKeys {
  /** Scopes for everything the gateway and forward-auth routes serve. */
  broad: string;
  /** openai:write only, limited to one model. */
  narrow: string;
  /** A key of a project that allows `api_key` in the query. */
  queryable: string;
  revoked: string;
}

/**
 * The request arbitrary of one route: method, path (parameters from the pools, then edited),
 * query, headers and body, each valid most of the time and broken otherwise.
 */
export function requestArb(
  route: RouteSpec,
  target: FuzzTarget,
  keys: ProbeKeys,
): fc.Arbitrary<FuzzRequest> {
  const hints = hintsFor(target, keys);
  const method = methodArb(route);
  const path = fc
    .tuple(
      pathArb(route, target),
      queryArb(route.query, hints, extraQuery(route, keys)),
      pathEditArb,
    )
    .map(([p, q, edit]) => applyPathEdit(q ? `${p}?${q}` : p, edit));
  const body = bodyFor(route, hints);
  const headers = fc.record({
    auth: authArb(route, target, keys),
    contentType: contentTypeArb,
    forwardedFor: forwardedForArb,
    keywarden: keywardenHeadersArb,
    other: otherHeadersArb,
  });
  return fc
    .record({ method, path, body, headers, chunked: fc.boolean() })
    .map(({ method, path, body, headers, chunked }) => {
      const bodyless = method === 'GET' || method === 'HEAD';
      const out: FuzzRequest = {
        method,
        path,
        body: bodyless && body.kind !== 'none' && !chunked ? { kind: 'none' } : body,
        chunked,
        headers: {
          ...headers.other,
          ...headers.keywarden,
          'x-forwarded-for': headers.forwardedFor,
          'content-type': headers.contentType,
          ...headers.auth,
        },
      };
      if (route.auth === 'github') signForGitHub(out, target);
      return out;
    });
}

function methodArb(route: RouteSpec): fc.Arbitrary<string> {
  const [first = 'GET'] = route.methods;
  if (route.methods.length > 1)
    return fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('GET', 'POST') },
      { weight: 2, arbitrary: fc.constantFrom(...route.methods) },
    );
  // Now and then a method the route does not have: 404 or 405, never 5xx.
  const other = first === 'GET' ? ['HEAD', 'POST', 'DELETE', 'OPTIONS'] : ['GET', 'PUT', 'OPTIONS'];
  return fc.oneof(
    { weight: 9, arbitrary: fc.constant(first) },
    { weight: 1, arbitrary: fc.constantFrom(...other) },
  );
}

const GATEWAY_TAILS: Record<string, string[]> = {
  openai: [
    'v1/chat/completions',
    'v1/completions',
    'v1/embeddings',
    'v1/responses',
    'v1/models',
    'v1/models/gpt-4o',
    'v1/files',
    'v1/batches',
    'v1/audio/transcriptions',
    'v1/images/edits',
    'v1/moderations',
    'v1/CHAT/completions',
    'v1/chat/completions/',
    'v1//chat/completions',
    'v1/chat/./completions',
    'v1/x/../chat/completions',
    'v1/chat%2Fcompletions',
    '',
  ],
  generic: [
    'users',
    'admin/users',
    'ADMIN/users',
    'Admin/users',
    'admin;x/users',
    'admin./users',
    'admin%20/users',
    'admin%2Fusers',
    'x/../admin/users',
    'a/b/c',
    '',
  ],
};

function pathArb(route: RouteSpec, target: FuzzTarget): fc.Arbitrary<string> {
  const names = Object.keys(route.params);
  if (names.length === 0) return fc.constant(route.template);
  const pieces = names.map((name) => {
    const schema = route.params[name] ?? {};
    if (name === 'rest') {
      const upstream = /^\/gw\/(\w+)\//.exec(route.template)?.[1];
      const tails = (upstream && GATEWAY_TAILS[upstream]) || [
        '',
        'x',
        'a/b',
        '..',
        '%2e%2e/v1/keys',
      ];
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...tails) },
        {
          weight: 1,
          arbitrary: fc
            .string({ maxLength: 30 })
            .map((s) => encodeURI(s.replace(/[\ud800-\udfff]/g, ''))),
        },
      );
    }
    if (name === 'upstream')
      return fc.constantFrom(
        'openai',
        'generic',
        'OPENAI',
        '%6fpenai',
        'nope',
        '..',
        '%2e%2e',
        '-x',
        'a'.repeat(300),
        '%00',
      );
    return paramArb(schema, poolFor(route.template, target));
  });
  return fc.tuple(...pieces).map((values) => {
    let path = route.template;
    names.forEach((name, i) => {
      path = path.replace(`{${name}}`, values[i] ?? '');
    });
    return path;
  });
}

function poolFor(template: string, target: FuzzTarget): string[] {
  if (template.startsWith('/v1/keys/')) return target.pools.keys;
  if (template.startsWith('/v1/projects/')) return target.pools.projects;
  if (template.startsWith('/v1/owners/')) return target.pools.owners;
  if (template.startsWith('/v1/admin-keys/')) return target.pools.managementKeys;
  if (template.startsWith('/v1/upstreams/')) return target.pools.upstreams;
  return ['x'];
}

function extraQuery(route: RouteSpec, keys: ProbeKeys): fc.Arbitrary<string[]> {
  if (route.auth !== 'key') return fc.constant([]);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant<string[]>([]) },
    fc
      .constantFrom(keys.queryable, keys.broad, keys.revoked, 'kw_prod_x')
      .map((k) => [`api_key=${k}`]),
  );
}

function hintsFor(target: FuzzTarget, keys: ProbeKeys): Hints {
  const scopes = fc.array(
    fc.constantFrom(
      'read',
      'write',
      'admin',
      'openai:write',
      'keys:read',
      '*:admin',
      'openai/chat.completions:write',
      'generic:read',
    ),
    { maxLength: 3 },
  );
  return {
    project: fc.constantFrom('default', ...target.pools.projects),
    projectId: fc.constantFrom('default', ...target.pools.projects),
    env: fc.constantFrom('dev', 'prod', 'staging'),
    scopes,
    ownerId: fc.constantFrom(...target.pools.owners),
    keyId: fc.constantFrom(...target.pools.keys),
    allowedIps: fc.array(fc.constantFrom('10.0.0.0/8', '127.0.0.1', '::1/128', '203.0.113.0/24'), {
      maxLength: 2,
    }),
    key: fc.constantFrom(keys.broad, keys.narrow, keys.revoked, 'kw_prod_x'),
    // Loopback and .invalid only: no test sends traffic elsewhere.
    baseUrl: fc.constantFrom(
      'http://127.0.0.1:9/v1',
      'http://upstream.invalid/v1',
      'https://api.example.invalid',
    ),
    models: fc.constantFrom(['gpt-4o*'], ['gpt-4o-mini'], null),
    gracePeriodSeconds: fc.integer({ min: 0, max: 60 }),
    cost: fc.integer({ min: 0, max: 3 }),
  };
}

/** OpenAI-shaped bodies: a model (never one of the mock's failure triggers) and messages. */
const openaiBody: fc.Arbitrary<unknown> = fc.record(
  {
    model: fc.oneof(
      fc.constantFrom(
        'gpt-4o-mini',
        'gpt-4o',
        'text-embedding-3-small',
        'GPT-4O-MINI',
        'gpt-4o-mini\u0000',
      ),
      fc.string({ maxLength: 20 }).filter((m) => !m.startsWith('mock-')),
    ),
    messages: fc.array(
      fc.record({
        role: fc.constantFrom('user', 'system', 'assistant'),
        content: fc.string({ maxLength: 30 }),
      }),
      { maxLength: 2 },
    ),
    input: fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
    ),
    stream: fc.boolean(),
    max_tokens: fc.integer({ min: -1, max: 100 }),
  },
  { requiredKeys: ['model'] },
);

function bodyFor(route: RouteSpec, hints: Hints): fc.Arbitrary<Body> {
  if (route.auth === 'github') return bodyArb(githubReports);
  if (route.template.startsWith('/gw/')) {
    const base = route.template.startsWith('/gw/openai')
      ? openaiBody
      : fc.jsonValue({ maxDepth: 2 });
    return fc.oneof(
      { weight: 1, arbitrary: fc.constant<Body>({ kind: 'none' }) },
      { weight: 4, arbitrary: bodyArb(base) },
    );
  }
  if (route.body) return bodyArb(valueFor(route.body as JsonSchema, hints));
  // A body where none is expected.
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant<Body>({ kind: 'none' }) },
    { weight: 1, arbitrary: bodyArb(fc.jsonValue({ maxDepth: 2 })) },
  );
}

/** GitHub's report format, with tokens that are keywarden-shaped but not ours. */
const githubReports = fc.array(
  fc.record({
    token: fc.oneof(
      fc.constant(null).map(() => generateKey({ prefix: 'kw', env: 'prod' })),
      fc.constantFrom(...ODD_STRINGS),
    ),
    type: fc.constantFrom('keywarden_api_key', 'x'),
    url: fc.constantFrom('https://github.com/o/r/blob/abc/.env', '', 'javascript:alert(1)'),
    source: fc.constantFrom('content', 'gist', 'commit'),
  }),
  { maxLength: 3 },
);

function authArb(
  route: RouteSpec,
  target: FuzzTarget,
  keys: ProbeKeys,
): fc.Arbitrary<Record<string, string>> {
  if (route.auth === 'github') return fc.constant({});
  const main = route.auth === 'management' ? target.adminKey : keys.broad;
  const others = [
    target.readOnlyManagementKey,
    keys.narrow,
    keys.revoked,
    target.adminKey,
    keys.broad,
  ];
  const good = fc.constant({ authorization: `Bearer ${main}` });
  const variants = fc.oneof(
    fc.constant({}),
    fc.constantFrom(...others).map((k) => ({ authorization: `Bearer ${k}` })),
    fc.constantFrom(...others, main).map((k) => ({ 'x-api-key': k })),
    fc.constant({ 'api-key': main }),
    fc.constant({ authorization: `Basic ${Buffer.from(`${main}:`).toString('base64')}` }),
    fc.constant({ authorization: `bearer ${main}` }),
    fc.constant({ authorization: `Bearer  ${main}` }),
    fc.constant({ authorization: `Bearer ${main}x` }),
    fc.constant({ authorization: `Bearer ${main.slice(0, -1)}` }),
    fc.constant({ authorization: `Bearer ${main}, Bearer ${keys.narrow}` }),
    fc.constant({ authorization: 'Bearer' }),
    fc.constant({ authorization: `Bearer ${main}`, 'x-api-key': keys.revoked }),
    fc.constantFrom(...ODD_STRINGS).map((s) => ({ authorization: `Bearer ${s}` })),
    fc.string({ maxLength: 40 }).map((s) => ({ authorization: s })),
  );
  const weight = route.auth === 'public' ? 1 : 4;
  return fc.oneof({ weight, arbitrary: good }, { weight: 1, arbitrary: variants });
}

/** GitHub signs the exact bytes; most inputs carry a valid signature so the parser is reached. */
function signForGitHub(req: FuzzRequest, target: FuzzTarget): void {
  const bytes = bodyBytes(req.body) ?? Buffer.alloc(0);
  const coin = bytes.length % 5;
  if (coin === 4) return;
  req.headers['github-public-key-identifier'] = coin === 3 ? 'nope' : target.github.keyId;
  req.headers['github-public-key-signature'] =
    coin === 2 ? 'bm90IGEgc2lnbmF0dXJl' : target.github.sign(bytes);
}
