import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { BASE62_ALPHABET, displayKey, generateKey } from '@keywarden/core';
import fc from 'fast-check';
import { redactDeep } from './index.ts';
import { jsonTextFault, secretKindIn, textFault } from './text-policy.ts';

const base62 = (length: number) =>
  Array.from(randomBytes(length), (b) => BASE62_ALPHABET[b % 62]).join('');

test('identifiers refuse keywarden keys (management keys too) and provider secrets, glued or not', () => {
  const key = generateKey({ prefix: 'kw', env: 'prod' });
  const admin = generateKey({ prefix: 'kwadmin', env: 'mgmt' });
  const openai = `${'sk'}-proj-${base62(48)}`;
  for (const value of [key, admin, `team-${key}`, `x${key}y`, openai, `user:${openai}`]) {
    assert.match(String(textFault(value, 'identifier')), /holds/, value.slice(0, 12));
    assert.ok(!String(textFault(value, 'identifier')).includes(value), 'the reason quotes nothing');
  }
  assert.equal(secretKindIn(key), 'keywarden');
  assert.equal(secretKindIn(openai), 'openai');
  // A look-alike with a bad checksum is not a key; ordinary ids pass.
  const lookAlike = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
  for (const value of [lookAlike, 'team-42', 'user@example.com', 'ünïcode-👍'])
    assert.equal(textFault(value, 'identifier'), null, value);
  // Names and text keep secrets to be redacted, not refused.
  assert.equal(textFault(key, 'name'), null);
  assert.equal(textFault(`note ${openai}`, 'text'), null);
});

test('url: a secret in the host or path is refused; the userinfo is left to the URL validator', () => {
  const key = generateKey({ prefix: 'kw', env: 'prod' });
  assert.match(String(textFault(`http://10.0.0.5/${key}/v1`, 'url')), /keywarden key/);
  assert.match(String(textFault(`http://${key}.example/`, 'url')), /keywarden key/);
  assert.equal(textFault(`https://user:${key}@api.example/v1`, 'url'), null);
  assert.equal(textFault('https://api.openai.com/v1', 'url'), null);
});

test('control characters: none in identifiers and names; tab and newlines in text only', () => {
  for (const kind of ['identifier', 'name', 'text'] as const) {
    for (const c of ['\u0000', '\u0007', '\u001b', '\u007f', '\u0085'])
      assert.equal(
        textFault(`a${c}b`, kind),
        'contains a control character',
        `${kind} ${c.charCodeAt(0)}`,
      );
  }
  for (const c of ['\t', '\n', '\r']) {
    assert.equal(textFault(`a${c}b`, 'text'), null);
    assert.equal(textFault(`a${c}b`, 'name'), 'contains a control character');
  }
});

test('lone surrogates are refused everywhere; paired ones are text', () => {
  for (const kind of ['identifier', 'name', 'text'] as const) {
    for (const value of ['\ud800', 'a\ud800b', 'a\udc00', '\udc00\ud800'])
      assert.match(String(textFault(value, kind)), /lone surrogate/);
    assert.equal(textFault('😀', kind), null);
  }
});

test('jsonTextFault walks keys and values and names where the fault is', () => {
  assert.deepEqual(jsonTextFault({ a: [1, { b: 'x\u0000' }] }), {
    pointer: '/a/1/b',
    message: 'contains a control character',
  });
  assert.deepEqual(jsonTextFault({ a: { 'bad\ud800': 1 } }), {
    pointer: '/a',
    message: 'a field name contains a lone surrogate (not valid Unicode text)',
  });
  assert.match(String(jsonTextFault({ ['k'.repeat(101)]: 1 })?.message), /longer than 100/);
  assert.deepEqual(jsonTextFault({ 'a/b~c': 'y\u0001' })?.pointer, '/a~1b~0c');
  assert.equal(jsonTextFault({ note: 'line\nline', n: 1, t: true, z: null }), null);
});

test('redactDeep redacts object keys as well as values', () => {
  const key = generateKey({ prefix: 'kw', env: 'prod' });
  const out = redactDeep({ [key]: { nested: key, [`x ${key}`]: [key] } });
  const text = JSON.stringify(out);
  assert.ok(!text.includes(key), text);
  assert.ok(text.includes(displayKey(key)));
});

test('property: a key anywhere in an identifier is refused; anywhere in a JSON value or key, redacted', () => {
  const keyArb = fc
    .record({
      prefix: fc.stringMatching(/^[a-z][a-z0-9]{1,11}$/),
      env: fc.stringMatching(/^[a-z]{2,10}$/),
    })
    .map(({ prefix, env }) => generateKey({ prefix, env }));
  const textArb = fc.string({ maxLength: 20 });
  fc.assert(
    fc.property(textArb, keyArb, textArb, (before, key, after) => {
      assert.notEqual(textFault(`${before}${key}${after}`, 'identifier'), null);
      const redacted = JSON.stringify(redactDeep({ [`${before}${key}`]: [`${key}${after}`] }));
      assert.ok(!redacted.includes(key.slice(-30)), redacted);
    }),
    { numRuns: 300 },
  );
});
