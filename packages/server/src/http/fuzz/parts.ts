import fc from 'fast-check';
import { ODD_STRINGS } from './mutations.ts';
import { type Hints, type JsonSchema, valueFor } from './schema-values.ts';

/**
 * The parts of a request other than its body: path parameters and the path itself (encodings,
 * dot segments, overlong), query strings, and headers (content types, credentials in every
 * position, X-Forwarded-* and X-Keywarden-* garbage).
 */

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The string with each lone surrogate replaced by U+FFFD, as UTF-8 encoding does. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd');
}

/** Node's client refuses a request target outside `!`–`ÿ`: escape the rest as UTF-8. */
export function wireSafePath(path: string): string {
  return path.replace(/[^\u0021-\u00ff]/gu, (c) => encodeURIComponent(wellFormed(c)));
}

/** A header value Node will send: no CR, LF, NUL or other controls; non-Latin-1 as UTF-8 bytes. */
export function wireSafeHeader(value: string): string {
  const bytes = Buffer.from(wellFormed(value), 'utf8').toString('latin1');
  let out = '';
  for (const c of bytes) {
    const code = c.charCodeAt(0);
    if (code === 9 || (code >= 0x20 && code !== 0x7f)) out += c;
  }
  return out;
}

export type PathEdit =
  | { op: 'none' }
  | { op: 'trailing-slash' }
  | { op: 'double-slash'; at: number }
  | { op: 'dot-segment'; at: number; segment: string }
  | { op: 'upper' }
  | { op: 'encode-char'; at: number; double: boolean }
  | { op: 'bad-escape'; at: number; escape: string }
  | { op: 'append'; text: string };

export const pathEditArb: fc.Arbitrary<PathEdit> = fc.oneof(
  { weight: 21, arbitrary: fc.constant<PathEdit>({ op: 'none' }) },
  fc.constant<PathEdit>({ op: 'trailing-slash' }),
  fc.record({ op: fc.constant('double-slash' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('dot-segment' as const),
    at: fc.nat(),
    segment: fc.constantFrom('.', '..', '%2e', '%2e%2e', '.%2e', '..;', '...'),
  }),
  fc.constant<PathEdit>({ op: 'upper' }),
  fc.record({ op: fc.constant('encode-char' as const), at: fc.nat(), double: fc.boolean() }),
  fc.record({
    op: fc.constant('bad-escape' as const),
    at: fc.nat(),
    escape: fc.constantFrom(
      '%',
      '%z',
      '%zz',
      '%u0041',
      '%c0%af',
      '%ff',
      '%00',
      '%2f',
      '%5c',
      '%e0%80',
    ),
  }),
  fc.record({
    op: fc.constant('append' as const),
    text: fc.constantFrom(';x=1', '#frag', '?', '??a', '/..', '/.', '%20', '.', ';', '\\..\\'),
  }),
);

function slashes(path: string): number[] {
  return [...path.matchAll(/\//g)].map((m) => m.index ?? 0);
}

export function applyPathEdit(path: string, edit: PathEdit): string {
  const [pathname = '', query] = splitQuery(path);
  const at = (n: number) => slashes(pathname)[n % Math.max(1, slashes(pathname).length)] ?? 0;
  let out = pathname;
  switch (edit.op) {
    case 'none':
      break;
    case 'trailing-slash':
      out = `${pathname}/`;
      break;
    case 'double-slash':
      out = `${pathname.slice(0, at(edit.at))}/${pathname.slice(at(edit.at))}`;
      break;
    case 'dot-segment': {
      const i = at(edit.at);
      out = `${pathname.slice(0, i)}/${edit.segment}${pathname.slice(i)}`;
      break;
    }
    case 'upper':
      out = pathname.toUpperCase();
      break;
    case 'encode-char': {
      const i = 1 + (edit.at % Math.max(1, pathname.length - 1));
      const c = pathname[i] ?? '';
      const once = `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
      out = `${pathname.slice(0, i)}${edit.double ? once.replace('%', '%25') : once}${pathname.slice(i + 1)}`;
      break;
    }
    case 'bad-escape': {
      const i = 1 + (edit.at % Math.max(1, pathname.length - 1));
      out = `${pathname.slice(0, i)}${edit.escape}${pathname.slice(i)}`;
      break;
    }
    case 'append':
      out = `${pathname}${edit.text}`;
      break;
  }
  return query === undefined ? out : `${out}?${query}`;
}

function splitQuery(path: string): [string, string | undefined] {
  const i = path.indexOf('?');
  return i < 0 ? [path, undefined] : [path.slice(0, i), path.slice(i + 1)];
}

/** A path parameter: a real id most of the time, else garbage in every encoding. */
export function paramArb(schema: JsonSchema, pool: readonly string[]): fc.Arbitrary<string> {
  const real = pool.length > 0 ? fc.constantFrom(...pool) : fc.constant('x');
  const garbage = fc.oneof(
    valueFor(schema).map(String),
    fc.constantFrom(...ODD_STRINGS),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.integer({ min: 201, max: 6000 }).map((n) => 'a'.repeat(n)),
    real.map((id) => id.toLowerCase()),
    real.map((id) => `${id}\u0000`),
  );
  const value = fc.oneof({ weight: 3, arbitrary: real }, { weight: 2, arbitrary: garbage });
  return fc
    .tuple(value, fc.constantFrom('encode', 'encode', 'encode', 'raw', 'double'))
    .map(([v, how]) =>
      how === 'raw'
        ? wireSafePath(v.replaceAll('/', '%2F').replaceAll('?', '%3F').replaceAll('#', '%23'))
        : how === 'double'
          ? encodeURIComponent(encodeURIComponent(wellFormed(v)))
          : encodeURIComponent(wellFormed(v)),
    );
}

/** A query string from the route's query schema, then broken now and then. */
export function queryArb(
  params: Record<string, JsonSchema>,
  hints: Hints,
  extra: fc.Arbitrary<string[]> = fc.constant([]),
): fc.Arbitrary<string> {
  const names = Object.keys(params);
  const valid = fc.record(
    Object.fromEntries(names.map((n) => [n, valueFor(params[n] ?? {}, hints, n)])),
    { requiredKeys: [] },
  );
  const garbage = fc.array(
    fc.oneof(
      fc.constantFrom(
        '__proto__[admin]=1',
        'constructor[prototype][admin]=1',
        'limit=1&limit=2',
        'a=%',
        'a=%zz',
        '%=%',
        'a[]=1&a[]=2',
        ';',
        '&&&',
        '=',
        'a=%00',
        'a=%ud800',
        'a=%ed%a0%80',
        `a=${'x'.repeat(5000)}`,
      ),
      fc
        .tuple(fc.constantFrom(...(names.length ? names : ['q'])), fc.constantFrom(...ODD_STRINGS))
        .map(([n, v]) => `${n}=${encodeURIComponent(wellFormed(v))}`),
    ),
    { maxLength: 3 },
  );
  return fc
    .tuple(
      valid,
      fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: garbage }),
      extra,
    )
    .map(([values, bad, more]) => {
      const search = new URLSearchParams();
      for (const [k, v] of Object.entries(values))
        if (v !== undefined)
          search.append(k, typeof v === 'string' ? wellFormed(v) : JSON.stringify(v));
      return [search.toString(), ...bad, ...more].filter(Boolean).join('&');
    });
}

export const contentTypeArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      undefined,
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'APPLICATION/JSON',
      ' application/json ',
      'application/json, text/plain',
      'application/json;',
      'application/problem+json',
      'application/vnd.api+json',
      'text/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      '*/*',
      '',
      ';',
      'application/',
      'a'.repeat(3000),
    ),
  },
);

export const forwardedForArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  fc.constantFrom(
    '203.0.113.7',
    '203.0.113.7, 10.0.0.1',
    '::ffff:203.0.113.7',
    '[2001:db8::1]:443',
    '2001:db8::1',
    'unknown',
    '',
    ',,,',
    '1.2.3.4.5',
    '999.999.999.999',
    '::10.1.2.3',
    'fe80::1%eth0',
    '127.0.0.1',
    '0.0.0.0',
    ` ${'1.1.1.1,'.repeat(1500)}`,
    '%31.2.3.4',
    'for=192.0.2.60;proto=http',
  ),
  fc.string({ maxLength: 40 }),
);

/** Every X-Keywarden-* header a client might send, with values a client should not. */
export const keywardenHeadersArb: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom(
    'x-keywarden-cost',
    'x-keywarden-scopes',
    'x-keywarden-env',
    'x-keywarden-key-id',
    'x-keywarden-owner-id',
    'x-keywarden-project-id',
    'x-keywarden-request-id',
    'x-keywarden-secret',
  ),
  fc.oneof(
    fc.constantFrom(
      '-1',
      '0',
      '1',
      '1e9',
      '1e400',
      'NaN',
      'Infinity',
      '0x10',
      '9007199254740993',
      '1.5',
      'read',
      'admin',
      '*:admin',
      'openai:write, admin',
      'prod',
      'PROD',
      'key_x',
      ' ',
    ),
    fc.string({ maxLength: 30 }),
  ),
  { maxKeys: 3 },
);

export const otherHeadersArb: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom(
    'x-forwarded-proto',
    'x-forwarded-host',
    'x-forwarded-method',
    'x-forwarded-uri',
    'x-real-ip',
    'forwarded',
    'x-request-id',
    'idempotency-key',
    'accept',
    'accept-encoding',
    'origin',
    'x-http-method-override',
    'host',
  ),
  fc.oneof(
    fc.constantFrom(
      'https',
      'evil.example.test',
      'POST',
      '/v1/keys',
      '/admin/../x',
      '*/*',
      'gzip, br',
      'text/event-stream',
      'a'.repeat(300),
      'null',
      '',
    ),
    fc.string({ maxLength: 30 }),
  ),
  { maxKeys: 3 },
);
