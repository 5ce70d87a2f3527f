import fc from 'fast-check';

/**
 * Breaking a valid body: the inputs an attacker and a buggy client send. A mutation is plain
 * data (`{ op, at, … }`) applied by `applyMutation`, so a failing input prints and shrinks as
 * something a person can read and replay.
 */
export type Body =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  /** Text sent as UTF-8 (lone surrogates become U+FFFD on the wire, as any client sends them). */
  | { kind: 'text'; text: string }
  /** Raw bytes, hex: invalid UTF-8 and the like. */
  | { kind: 'bytes'; hex: string };

/** Strings that break naive code: surrogates, NUL, bidi, BOM, case folding, normalisation. */
export const ODD_STRINGS = [
  '\ud800',
  '\udfff',
  'a\ud800b',
  '\udc00\ud800',
  '\u0000',
  'x\u0000y',
  '\u202eevil',
  '\ufeff',
  '\uffff',
  '\ufffe',
  'e\u0301\u0301\u0301',
  '😀',
  'İı',
  'ＡＤＭＩＮ',
  '\u2028\u2029',
  '%00',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell probe, meant literally
  '${jndi:ldap://x}',
  '\r\nX-Injected: 1',
  ' ',
  '',
];

const POLLUTION = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'];

const wrongValue = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    0,
    -1,
    -0,
    1.5,
    2 ** 53 + 1,
    1e308,
    '',
    'null',
    '1',
    [],
    {},
    [null],
    { '': '' },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

type Path = Array<string | number>;

function paths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) for (const [i, v] of value.entries()) paths(v, [...prefix, i], out);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function setAt(value: unknown, path: Path, replacement: (old: unknown) => unknown): unknown {
  if (path.length === 0) return replacement(value);
  const [head, ...rest] = path as [string | number, ...Path];
  if (Array.isArray(value)) {
    const copy = [...value];
    copy[head as number] = setAt(copy[head as number], rest, replacement);
    return copy;
  }
  const copy = { ...(value as Record<string, unknown>) };
  copy[head] = setAt(copy[head], rest, replacement);
  return copy;
}

function objectPaths(value: unknown): Path[] {
  return paths(value).filter((p) => {
    let v: unknown = value;
    for (const k of p) v = (v as Record<string | number, unknown>)[k];
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  });
}

export type Mutation =
  | { op: 'wrong-type'; at: number; value: unknown }
  | { op: 'huge-string'; at: number; length: number; char: string }
  | { op: 'odd-string'; at: number; text: string }
  | { op: 'deep'; at: number; depth: number; brackets: '[]' | '{}' }
  | { op: 'pollute'; at: number; key: string; value: unknown }
  | { op: 'extra-field'; at: number; key: string; value: unknown }
  | { op: 'drop'; at: number }
  | { op: 'truncate'; at: number }
  | { op: 'append'; text: string }
  | { op: 'duplicate-key'; at: number }
  | { op: 'bad-utf8'; at: number; bytes: string }
  | { op: 'replace'; body: Body };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('wrong-type' as const), at: fc.nat(), value: wrongValue }),
  fc.record({
    op: fc.constant('huge-string' as const),
    at: fc.nat(),
    length: fc.oneof(
      fc.integer({ min: 200, max: 5000 }),
      fc.integer({ min: 60_000, max: 140_000 }),
    ),
    char: fc.constantFrom('a', '€', '😀', '\\', '"', '\u0000', '\ud800'),
  }),
  fc.record({
    op: fc.constant('odd-string' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...ODD_STRINGS), fc.string({ unit: 'binary', maxLength: 12 })),
  }),
  fc.record({
    op: fc.constant('deep' as const),
    at: fc.nat(),
    depth: fc.oneof(fc.integer({ min: 20, max: 200 }), fc.integer({ min: 5000, max: 20_000 })),
    brackets: fc.constantFrom('[]' as const, '{}' as const),
  }),
  fc.record({
    op: fc.constant('pollute' as const),
    at: fc.nat(),
    key: fc.constantFrom(...POLLUTION),
    value: fc.constantFrom<unknown>({ admin: true }, { prototype: { admin: true } }, 'x', null, []),
  }),
  fc.record({
    op: fc.constant('extra-field' as const),
    at: fc.nat(),
    key: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom(...ODD_STRINGS)),
    value: wrongValue,
  }),
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('append' as const),
    text: fc.constantFrom('}', ']', ',', ' garbage', '\u0000', '{"a":1}', '\n\n'),
  }),
  fc.record({ op: fc.constant('duplicate-key' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('bad-utf8' as const),
    at: fc.nat(),
    bytes: fc.constantFrom('ff', 'c328', 'eda080', 'f4908080', 'c0af', 'e282', 'efbbbf', '00'),
  }),
  fc.record({
    op: fc.constant('replace' as const),
    body: fc.oneof(
      fc.constant<Body>({ kind: 'none' }),
      fc.constantFrom<Body>(
        { kind: 'text', text: '' },
        { kind: 'text', text: 'null' },
        { kind: 'text', text: '1e400' },
        { kind: 'text', text: '"\\ud800"' },
        { kind: 'text', text: '[]' },
        { kind: 'text', text: '{"__proto__":{"admin":true}}' },
        { kind: 'text', text: '{"constructor":{"prototype":{"admin":true}}}' },
        { kind: 'text', text: 'name=x&scopes=admin' },
        { kind: 'bytes', hex: 'fffe7b007d00' },
      ),
      fc.jsonValue({ maxDepth: 3 }).map((value): Body => ({ kind: 'json', value })),
    ),
  }),
);

/** Where a mutation made as text goes: a placeholder that JSON.stringify leaves as it is. */
const MARKER = '__keywarden_fuzz_marker__';

function nth<T>(items: T[], at: number): T | undefined {
  return items.length === 0 ? undefined : items[at % items.length];
}

/** The body a mutation makes of a valid JSON value. */
export function applyMutation(value: unknown, m: Mutation): Body {
  const all = paths(value);
  switch (m.op) {
    case 'wrong-type':
      return { kind: 'json', value: setAt(value, nth(all, m.at) ?? [], () => m.value) };
    case 'huge-string':
      return {
        kind: 'json',
        value: setAt(value, nth(all, m.at) ?? [], () => m.char.repeat(m.length)),
      };
    case 'odd-string':
      return { kind: 'json', value: setAt(value, nth(all, m.at) ?? [], () => m.text) };
    case 'deep': {
      // Built as text: our own serialiser must not be what overflows its stack.
      const [open, close] = m.brackets === '[]' ? ['[', ']'] : ['{"a":', '}'];
      const marker = `"${MARKER}"`;
      const text = JSON.stringify(setAt(value, nth(all, m.at) ?? [], () => MARKER));
      return {
        kind: 'text',
        text: text.replace(marker, `${open.repeat(m.depth)}1${close.repeat(m.depth)}`),
      };
    }
    case 'pollute':
    case 'extra-field': {
      // As text: a `__proto__` key set on an object literal would change its prototype instead.
      const target = nth(objectPaths(value), m.at);
      const marker = `"${MARKER}":0`;
      if (!target)
        return { kind: 'text', text: `{${JSON.stringify(m.key)}:${JSON.stringify(m.value)}}` };
      const text = JSON.stringify(setAt(value, target, (o) => ({ [MARKER]: 0, ...(o as object) })));
      return {
        kind: 'text',
        text: text.replace(marker, `${JSON.stringify(m.key)}:${JSON.stringify(m.value) ?? 'null'}`),
      };
    }
    case 'drop': {
      const path = nth(all.slice(1), m.at);
      if (!path) return { kind: 'none' };
      const parent = path.slice(0, -1);
      const last = path[path.length - 1] as string | number;
      return {
        kind: 'json',
        value: setAt(value, parent, (o) => {
          if (Array.isArray(o)) return o.filter((_, i) => i !== last);
          const { [last]: _gone, ...rest } = o as Record<string, unknown>;
          return rest;
        }),
      };
    }
    case 'truncate': {
      const text = JSON.stringify(value) ?? '';
      return { kind: 'text', text: text.slice(0, m.at % Math.max(1, text.length)) };
    }
    case 'append':
      return { kind: 'text', text: `${JSON.stringify(value)}${m.text}` };
    case 'duplicate-key': {
      const text = JSON.stringify(value) ?? '';
      const match = nth([...text.matchAll(/"((?:[^"\\]|\\.)*)":/g)], m.at);
      if (!match || match.index === undefined) return { kind: 'text', text };
      return {
        kind: 'text',
        text: `${text.slice(0, match.index)}${match[0]}"dup",${text.slice(match.index)}`,
      };
    }
    case 'bad-utf8': {
      const bytes = Buffer.from(JSON.stringify(value) ?? '', 'utf8');
      // Inside a string where there is one, so the JSON stays well-formed apart from the bytes.
      const quotes = [...bytes.entries()].filter(([, b]) => b === 0x22).map(([i]) => i + 1);
      const cut = nth(quotes, m.at) ?? 0;
      return {
        kind: 'bytes',
        hex: Buffer.concat([
          bytes.subarray(0, cut),
          Buffer.from(m.bytes, 'hex'),
          bytes.subarray(cut),
        ]).toString('hex'),
      };
    }
    case 'replace':
      return m.body;
  }
}

/** A body: valid (from the schema) most of the time, mutated otherwise. */
export function bodyArb(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  return fc.oneof(
    { weight: 1, arbitrary: valid.map((value): Body => ({ kind: 'json', value })) },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, mutationArb).map(([value, m]) => applyMutation(value, m)),
    },
  );
}

export function bodyBytes(body: Body): Buffer | null {
  switch (body.kind) {
    case 'none':
      return null;
    case 'json':
      return Buffer.from(JSON.stringify(body.value) ?? 'null', 'utf8');
    case 'text':
      return Buffer.from(body.text, 'utf8');
    case 'bytes':
      return Buffer.from(body.hex, 'hex');
  }
}
