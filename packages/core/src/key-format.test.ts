import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { BASE62_ALPHABET, encodeBase62, type RandomBytes } from './base62.ts';
import {
  CHECKSUM_LENGTH,
  checkKeyFormat,
  displayKey,
  ENV_PATTERN,
  generateKey,
  isWellFormedKey,
  KEY_CANDIDATE_REGEX,
  MAX_KEY_LENGTH,
  PREFIX_PATTERN,
  RANDOM_LENGTH,
} from './key-format.ts';

// The example key from DESIGN.md.
const DESIGN_KEY = ['kw', 'prod', 'M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq0uOupm'].join('_'); // built at run time: no valid key in the repository;

/** A byte source that makes generateKey produce exactly `random`. */
function bytesSpelling(random: string): RandomBytes {
  const bytes = [...random].map((char) => BASE62_ALPHABET.indexOf(char));
  let next = 0;
  return (length) => Uint8Array.from({ length }, () => bytes[next++] ?? 0);
}

/** Builds `<prefix>_<env>_<random><checksum>` with zlib's CRC, independently of the code. */
function referenceKey(prefix: string, env: string, random: string): string {
  const body = `${prefix}_${env}_${random}`;
  return body + encodeBase62(zlibCrc32(body), CHECKSUM_LENGTH);
}

const prefixArb = fc.stringMatching(/^[a-z][a-z0-9]{1,11}$/);
const envArb = fc.stringMatching(/^[a-z]{2,10}$/);
const randomArb = fc.stringMatching(/^[0-9A-Za-z]{30}$/);
const keyArb = fc
  .record({ prefix: prefixArb, env: envArb, random: randomArb })
  .map(({ prefix, env, random }) => ({
    prefix,
    env,
    random,
    key: generateKey({ prefix, env, randomBytes: bytesSpelling(random) }),
  }));
const anyCharArb = fc.oneof(
  fc.constantFrom(...BASE62_ALPHABET, '_', '-', ' ', '\n', '\0'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

describe('generateKey', () => {
  it('is exact for injected randomness (regression vector)', () => {
    const counter = bytesSpelling(BASE62_ALPHABET.slice(0, 30));
    const key = generateKey({ prefix: 'kw', env: 'prod', randomBytes: counter });
    assert.equal(key, referenceKey('kw', 'prod', '0123456789ABCDEFGHIJKLMNOPQRST'));
    assert.equal(key, ['kw', 'prod', '0123456789ABCDEFGHIJKLMNOPQRST4VvCgN'].join('_'));
  });

  it('round-trips through checkKeyFormat for any valid prefix and env (property)', () => {
    fc.assert(
      fc.property(keyArb, ({ prefix, env, random, key }) => {
        assert.equal(key, referenceKey(prefix, env, random));
        assert.equal(key.length, prefix.length + env.length + 2 + 36);
        assert.ok(key.length <= MAX_KEY_LENGTH);
        const result = checkKeyFormat(key);
        assert.ok(result.ok);
        assert.deepEqual(result.key, { prefix, env, random, checksum: key.slice(-6) });
        assert.ok(isWellFormedKey(key));
      }),
      { numRuns: 300 },
    );
  });

  it('uses secure randomness by default, spreading over the whole alphabet', () => {
    const counts = new Map<string, number>();
    const keys = 500;
    for (let i = 0; i < keys; i++) {
      const key = generateKey({ prefix: 'kw', env: 'dev' });
      assert.ok(isWellFormedKey(key));
      const parsed = checkKeyFormat(key);
      assert.ok(parsed.ok);
      for (const char of parsed.key.random) counts.set(char, (counts.get(char) ?? 0) + 1);
    }
    assert.equal(counts.size, 62);
    // 15 000 characters: about 242 of each, standard deviation about 15. A band of ±90 only
    // fails for a broken generator.
    for (const [char, count] of counts) {
      assert.ok(count > 150 && count < 335, `${char} appeared ${count} times`);
    }
  });

  it('throws a TypeError for an invalid prefix or env', () => {
    for (const prefix of ['', 'k', 'Kw', '1kw', 'k_w', 'kw-x', 'abcdefghijklm', 'kw ']) {
      assert.throws(() => generateKey({ prefix, env: 'prod' }), TypeError, prefix);
    }
    for (const env of ['', 'p', 'Prod', 'pr0d', 'pro_d', 'abcdefghijk']) {
      assert.throws(() => generateKey({ prefix: 'kw', env }), TypeError, env);
    }
    fc.assert(
      fc.property(fc.string(), (text) => {
        fc.pre(!PREFIX_PATTERN.test(text));
        assert.throws(() => generateKey({ prefix: text, env: 'prod' }), TypeError);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        fc.pre(!ENV_PATTERN.test(text));
        assert.throws(() => generateKey({ prefix: 'kw', env: text }), TypeError);
      }),
    );
  });
});

describe('checkKeyFormat', () => {
  it('accepts the example key from the design document', () => {
    const result = checkKeyFormat(DESIGN_KEY);
    assert.deepEqual(result, {
      ok: true,
      key: {
        prefix: 'kw',
        env: 'prod',
        random: 'M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq',
        checksum: '0uOupm',
      },
    });
  });

  it('has the documented constants', () => {
    assert.equal(RANDOM_LENGTH, 30);
    assert.equal(CHECKSUM_LENGTH, 6);
    assert.equal(MAX_KEY_LENGTH, 12 + 1 + 10 + 1 + 36);
  });

  it('rejects every single-character substitution, at every position (property)', () => {
    fc.assert(
      fc.property(
        keyArb,
        fc.array(anyCharArb, { minLength: MAX_KEY_LENGTH, maxLength: MAX_KEY_LENGTH }),
        ({ key }, anyChars) => {
          for (let i = 0; i < key.length; i++) {
            // Every other character of the key alphabet, exhaustively …
            for (const char of `${BASE62_ALPHABET}_`) {
              if (char === key[i]) continue;
              const changed = key.slice(0, i) + char + key.slice(i + 1);
              assert.equal(checkKeyFormat(changed).ok, false, `${changed} (position ${i})`);
            }
            // … and one arbitrary character, which may be anything at all.
            const other = anyChars[i] ?? '';
            if (other === key[i]) continue;
            const changed = key.slice(0, i) + other + key.slice(i + 1);
            assert.equal(checkKeyFormat(changed).ok, false, `${changed} (position ${i})`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects every transposition of two adjacent distinct characters (property)', () => {
    fc.assert(
      fc.property(keyArb, ({ key }) => {
        for (let i = 0; i + 1 < key.length; i++) {
          const a = key[i] ?? '';
          const b = key[i + 1] ?? '';
          if (a === b) continue;
          const swapped = key.slice(0, i) + b + a + key.slice(i + 2);
          assert.equal(checkKeyFormat(swapped).ok, false, `${swapped} (position ${i})`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('tells a wrong checksum apart from a wrong shape', () => {
    const wrongChecksum = `${DESIGN_KEY.slice(0, -1)}n`;
    assert.deepEqual(checkKeyFormat(wrongChecksum), { ok: false, reason: 'bad_checksum' });
    assert.deepEqual(checkKeyFormat('kw_prod_short'), { ok: false, reason: 'malformed' });
  });

  it('rejects wrong shapes as malformed, even with a matching checksum', () => {
    const random = 'M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq';
    const cases: Record<string, string> = {
      empty: '',
      'two parts': `kwprod_${random}AAAAAA`,
      'four parts': referenceKey('kw_x', 'prod', random),
      'empty prefix': referenceKey('', 'prod', random),
      'empty env': referenceKey('kw', '', random),
      'one-letter prefix': referenceKey('k', 'prod', random),
      'one-letter env': referenceKey('kw', 'p', random),
      'prefix too long': referenceKey('abcdefghijklm', 'prod', random),
      'env too long': referenceKey('kw', 'abcdefghijk', random),
      'upper-case prefix': referenceKey('KW', 'prod', random),
      'upper-case env': referenceKey('kw', 'PROD', random),
      'prefix starting with a digit': referenceKey('1kw', 'prod', random),
      'digit in env': referenceKey('kw', 'pr0d', random),
      'random too short': referenceKey('kw', 'prod', random.slice(1)),
      'random too long': referenceKey('kw', 'prod', `${random}x`),
      'non-base62 in random': referenceKey('kw', 'prod', `${random.slice(1)}-`),
      'non-ASCII in random': referenceKey('kw', 'prod', `${random.slice(1)}é`),
      'leading space': ` ${DESIGN_KEY}`,
      'trailing newline': `${DESIGN_KEY}\n`,
      'inner newline': DESIGN_KEY.replace('prod_', 'prod\n_'),
      'checksum too short': DESIGN_KEY.slice(0, -1),
      'checksum too long': `${DESIGN_KEY}0`,
      'two keys': DESIGN_KEY + DESIGN_KEY,
    };
    for (const [name, text] of Object.entries(cases)) {
      assert.deepEqual(checkKeyFormat(text), { ok: false, reason: 'malformed' }, name);
    }
  });

  it('rejects a megabyte of input in constant time', () => {
    const huge = `${DESIGN_KEY}${'a'.repeat(1024 * 1024)}`;
    const started = performance.now();
    for (let i = 0; i < 1000; i++) assert.equal(checkKeyFormat(huge).ok, false);
    assert.ok(
      performance.now() - started < 50,
      'took too long: input length must be checked first',
    );
  });

  it('never throws, whatever it is given (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.anything()), (value) => {
        const result = checkKeyFormat(value as string);
        assert.equal(typeof result.ok, 'boolean');
      }),
      { numRuns: 1000 },
    );
    for (const value of [undefined, null, 42, {}, [], Symbol('x')]) {
      assert.deepEqual(checkKeyFormat(value as unknown as string), {
        ok: false,
        reason: 'malformed',
      });
    }
  });
});

describe('displayKey', () => {
  it('shows prefix, env and the last five characters', () => {
    assert.equal(displayKey(DESIGN_KEY), 'kw_prod_…uOupm');
    const parsed = checkKeyFormat(DESIGN_KEY);
    assert.ok(parsed.ok);
    assert.equal(displayKey(parsed.key), 'kw_prod_…uOupm');
  });

  it('never shows the random part, only the last five characters of the key (property)', () => {
    fc.assert(
      fc.property(keyArb, ({ prefix, env, random, key }) => {
        const shown = displayKey(key);
        assert.equal(shown, `${prefix}_${env}_…${key.slice(-5)}`);
        assert.ok(!shown.includes(random));
        // Nothing of the random part beyond what the last five characters could reveal.
        const revealed = shown.slice(shown.indexOf('…') + 1);
        assert.equal(revealed.length, 5);
        assert.ok(key.endsWith(revealed));
      }),
    );
  });

  it('never echoes a string that is not a well-formed key (property)', () => {
    assert.equal(displayKey(`${DESIGN_KEY.slice(0, -1)}n`), '[malformed key]');
    assert.equal(displayKey('sk-secret-secret-secret'), '[malformed key]');
    assert.equal(
      displayKey({ prefix: 'kw', env: 'prod', random: 'secret', checksum: 'abcdef' }),
      '[malformed key]',
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        fc.pre(!isWellFormedKey(text));
        assert.equal(displayKey(text), '[malformed key]');
      }),
    );
  });
});

describe('KEY_CANDIDATE_REGEX', () => {
  it('finds generated keys in text, whole (property)', () => {
    fc.assert(
      fc.property(fc.array(keyArb, { minLength: 1, maxLength: 4 }), (keys) => {
        const text = keys.map(({ key }) => `token: ${key},`).join(' ');
        const found = [...text.matchAll(KEY_CANDIDATE_REGEX)].map((match) => match[0]);
        assert.deepEqual(
          found,
          keys.map(({ key }) => key),
        );
      }),
    );
  });

  it('does not match a key glued to other word characters', () => {
    assert.equal(`x_${DESIGN_KEY}`.match(KEY_CANDIDATE_REGEX), null);
    assert.equal(`${DESIGN_KEY}0`.match(KEY_CANDIDATE_REGEX), null);
  });
});

it('isWellFormedKey (the hot-path check) agrees with checkKeyFormat on keys, corruptions and noise', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 59 }),
      fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-x'),
      (position, char) => {
        const key = generateKey({ prefix: 'kw', env: 'prod' });
        const index = position % key.length;
        const corrupted = `${key.slice(0, index)}${char}${key.slice(index + 1)}`;
        assert.equal(isWellFormedKey(key), true);
        assert.equal(isWellFormedKey(corrupted), checkKeyFormat(corrupted).ok);
      },
    ),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (text) =>
      assert.equal(isWellFormedKey(text), checkKeyFormat(text).ok),
    ),
  );
});
