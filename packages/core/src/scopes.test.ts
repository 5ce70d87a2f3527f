import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  formatScope,
  hasScopes,
  isValidScope,
  missingScopes,
  parseScope,
  parseScopeList,
  SCOPE_LEVELS,
  type Scope,
  type ScopeLevel,
  scopeCovers,
} from './scopes.ts';

function scope(text: string): Scope {
  const parsed = parseScope(text);
  assert.ok(parsed, `expected a valid scope: ${text}`);
  return parsed;
}

const segmentArb = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,8}$/);
const resourceArb = fc.oneof(
  fc.constant('*'),
  fc.array(segmentArb, { minLength: 1, maxLength: 3 }).map((segments) => segments.join('/')),
);
const levelArb = fc.constantFrom(...SCOPE_LEVELS);
// Spread into a plain object: fast-check's records have a null prototype.
const scopeArb = fc
  .record({ resource: resourceArb, level: levelArb })
  .map((s): Scope => ({ ...s }));

const INVALID_SCOPES = [
  '',
  ' ',
  ' read',
  'read ',
  'keys :read',
  'keys: read',
  'keys:',
  ':read',
  'keys',
  'READ',
  'keys:READ',
  'Keys:read',
  'keys:read:write',
  'keys:delete',
  'keys:*',
  '*:*',
  '**:read',
  'keys/*:read',
  'keys//chat:read',
  '/keys:read',
  'keys/:read',
  '.keys:read',
  '-keys:read',
  'ke ys:read',
  'keys\n:read',
  'kéys:read',
  'keys:__proto__',
  'keys:constructor',
  'keys:toString',
  '__proto__',
  `${'a'.repeat(130)}:read`,
];

describe('parseScope', () => {
  it('parses resource:level', () => {
    assert.deepEqual(parseScope('keys:read'), { resource: 'keys', level: 'read' });
    assert.deepEqual(parseScope('openai/chat.completions:write'), {
      resource: 'openai/chat.completions',
      level: 'write',
    });
    assert.deepEqual(parseScope('billing.invoices:admin'), {
      resource: 'billing.invoices',
      level: 'admin',
    });
    assert.deepEqual(parseScope('my-api_v2:read'), { resource: 'my-api_v2', level: 'read' });
  });

  it('reads a bare level, and *:level, as the wildcard resource', () => {
    for (const level of SCOPE_LEVELS) {
      assert.deepEqual(parseScope(level), { resource: '*', level });
      assert.deepEqual(parseScope(`*:${level}`), { resource: '*', level });
    }
  });

  it('rejects anything else, whitespace included', () => {
    for (const text of INVALID_SCOPES) {
      assert.equal(parseScope(text), null, JSON.stringify(text));
      assert.equal(isValidScope(text), false, JSON.stringify(text));
    }
    for (const value of [undefined, null, 42, {}, ['read']]) {
      assert.equal(parseScope(value as unknown as string), null);
    }
  });

  it('accepts up to 128 characters', () => {
    const longest = `${'a'.repeat(123)}:read`;
    assert.equal(longest.length, 128);
    assert.ok(isValidScope(longest));
    assert.equal(isValidScope(`a${longest}`), false);
  });

  it('never throws (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const parsed = parseScope(text);
        assert.equal(isValidScope(text), parsed !== null);
      }),
    );
  });
});

describe('formatScope', () => {
  it('writes the wildcard resource as the bare level', () => {
    assert.equal(formatScope({ resource: '*', level: 'read' }), 'read');
    assert.equal(formatScope({ resource: 'keys', level: 'admin' }), 'keys:admin');
    assert.equal(formatScope(scope('*:write')), 'write');
  });

  it('round-trips with parseScope (property)', () => {
    fc.assert(
      fc.property(scopeArb, (s) => {
        assert.deepEqual(parseScope(formatScope(s)), s);
      }),
    );
  });
});

describe('scopeCovers', () => {
  it('orders levels read < write < admin (every pair)', () => {
    const expected: Record<ScopeLevel, Record<ScopeLevel, boolean>> = {
      read: { read: true, write: false, admin: false },
      write: { read: true, write: true, admin: false },
      admin: { read: true, write: true, admin: true },
    };
    for (const granted of SCOPE_LEVELS) {
      for (const required of SCOPE_LEVELS) {
        const want = expected[granted][required];
        assert.equal(scopeCovers(scope(`keys:${granted}`), scope(`keys:${required}`)), want);
        assert.equal(scopeCovers(scope(granted), scope(`keys:${required}`)), want);
        assert.equal(scopeCovers(scope(granted), scope(required)), want);
        assert.equal(hasScopes([`keys:${granted}`], [`keys:${required}`]), want);
      }
    }
  });

  it('lets * cover every resource, but no resource cover *', () => {
    assert.ok(scopeCovers(scope('write'), scope('openai:write')));
    assert.ok(scopeCovers(scope('*:write'), scope('openai/chat.completions:read')));
    assert.equal(scopeCovers(scope('write'), scope('openai:admin')), false);
    assert.equal(scopeCovers(scope('openai:admin'), scope('read')), false);
    assert.equal(scopeCovers(scope('keys:admin'), scope('*:read')), false);
  });

  it('covers nested resources at a / boundary only', () => {
    assert.ok(scopeCovers(scope('openai:write'), scope('openai/chat.completions:write')));
    assert.ok(scopeCovers(scope('openai:admin'), scope('openai/chat.completions/stream:read')));
    assert.ok(scopeCovers(scope('openai/chat:read'), scope('openai/chat/x:read')));
    assert.equal(scopeCovers(scope('open:write'), scope('openai:write')), false);
    assert.equal(
      scopeCovers(scope('openai/chat:write'), scope('openai/chat.completions:write')),
      false,
    );
    // A child never covers its parent.
    assert.equal(scopeCovers(scope('openai/chat:admin'), scope('openai:read')), false);
    assert.equal(scopeCovers(scope('billing:read'), scope('billing.invoices:read')), false);
    assert.equal(scopeCovers(scope('openai:read'), scope('openai/chat.completions:write')), false);
  });

  it('is reflexive and transitive (property)', () => {
    fc.assert(fc.property(scopeArb, (s) => assert.ok(scopeCovers(s, s))));
    fc.assert(
      fc.property(scopeArb, scopeArb, scopeArb, (a, b, c) => {
        if (scopeCovers(a, b) && scopeCovers(b, c)) assert.ok(scopeCovers(a, c));
      }),
      { numRuns: 2000 },
    );
  });

  it('fails closed on hand-built invalid scopes', () => {
    const bad = [
      { resource: '', level: 'read' },
      { resource: 'keys', level: 'owner' },
      { resource: 'keys', level: '__proto__' },
      { resource: 'openai/', level: 'read' },
      { resource: 'Keys', level: 'read' },
    ] as unknown as Scope[];
    for (const b of bad) {
      assert.equal(scopeCovers(b, scope('openai:read')), false, JSON.stringify(b));
      assert.equal(scopeCovers(scope('admin'), b), false, JSON.stringify(b));
    }
  });
});

describe('missingScopes / hasScopes', () => {
  it('returns the required scopes, as given and in order, that nothing covers', () => {
    assert.deepEqual(
      missingScopes(
        ['openai:write', 'keys:read'],
        ['openai/chat.completions:write', 'keys:write', 'keys:read', 'read', 'openai:admin'],
      ),
      ['keys:write', 'read', 'openai:admin'],
    );
    assert.deepEqual(missingScopes(['admin'], ['keys:admin', 'openai/x:read', '*:write']), []);
    assert.deepEqual(missingScopes([], ['keys:read', 'keys:read']), ['keys:read', 'keys:read']);
    assert.deepEqual(missingScopes(['keys:read'], []), []);
    assert.ok(hasScopes(['keys:read'], []));
    assert.ok(hasScopes([], []));
  });

  it('ignores invalid granted scopes', () => {
    assert.deepEqual(missingScopes(['keys: admin', '*:*', 'KEYS:ADMIN', ''], ['keys:read']), [
      'keys:read',
    ]);
    assert.ok(hasScopes(['garbage', 'keys:read'], ['keys:read']));
  });

  it('always reports an invalid required scope as missing, even to an admin', () => {
    for (const text of INVALID_SCOPES) {
      assert.deepEqual(missingScopes(['admin'], [text]), [text], JSON.stringify(text));
      assert.equal(hasScopes(['admin'], [text]), false);
    }
  });

  it('agrees with scopeCovers and with hasScopes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(scopeArb.map(formatScope), { maxLength: 5 }),
        fc.array(scopeArb.map(formatScope), { maxLength: 5 }),
        (granted, required) => {
          const expected = required.filter(
            (r) => !granted.some((g) => scopeCovers(scope(g), scope(r))),
          );
          assert.deepEqual(missingScopes(granted, required), expected);
          assert.equal(hasScopes(granted, required), expected.length === 0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('stays correct once its bounded memo has been cleared', () => {
    const many = Array.from({ length: 3000 }, (_, i) => `resource${i}:read`);
    assert.deepEqual(missingScopes(['read'], many), []);
    assert.deepEqual(missingScopes(['resource1:read'], many.slice(0, 3)), [
      'resource0:read',
      'resource2:read',
    ]);
  });

  it('hands out fresh objects: changing a parsed scope changes no later answer', () => {
    assert.ok(hasScopes(['keys:read'], ['keys:read']));
    const parsed = scope('keys:read');
    parsed.resource = 'other';
    parsed.level = 'admin';
    assert.deepEqual(parseScope('keys:read'), { resource: 'keys', level: 'read' });
    assert.equal(hasScopes(['keys:read'], ['keys:write']), false);
  });
});

describe('parseScopeList', () => {
  it('splits on commas and whitespace and drops empties', () => {
    assert.deepEqual(parseScopeList('keys:read openai:write'), ['keys:read', 'openai:write']);
    assert.deepEqual(parseScopeList('keys:read,openai:write'), ['keys:read', 'openai:write']);
    assert.deepEqual(parseScopeList(' keys:read ,\topenai:write,,\n read , '), [
      'keys:read',
      'openai:write',
      'read',
    ]);
    assert.deepEqual(parseScopeList(''), []);
    assert.deepEqual(parseScopeList(' , ,, '), []);
    assert.deepEqual(parseScopeList(undefined as unknown as string), []);
  });

  it('keeps invalid entries, so that they fail closed later', () => {
    assert.deepEqual(parseScopeList('keys:READ'), ['keys:READ']);
    assert.deepEqual(missingScopes(['admin'], parseScopeList('keys:read, keys:READ')), [
      'keys:READ',
    ]);
  });
});
