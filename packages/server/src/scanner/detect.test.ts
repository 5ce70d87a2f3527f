import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  BASE62_ALPHABET,
  checkKeyFormat,
  displayKey,
  generateKey,
  KEY_CANDIDATE_REGEX,
  SECRET_PATTERNS,
  TOKEN_PATTERNS,
} from '@keywarden/core';
import fc from 'fast-check';
import { detectSecrets, fingerprintOf, isPlaceholderToken } from './detect.ts';
import { isDescribedPatternType, SCAN_RULES } from './rules.ts';
import {
  FORMATS,
  generateCorpus,
  makeSecret,
  PLANTED_KINDS,
  randomString,
  seededRng,
  wrongChecksumKey,
} from './testing/corpus.ts';

const rng = seededRng(42);
const key = (prefix = 'kw', env = 'prod') => generateKey({ prefix, env });

function kinds(text: string, path?: string): string[] {
  return detectSecrets(text, path === undefined ? {} : { path }).map((f) => f.kind);
}

describe('detectSecrets: recall on a generated corpus', () => {
  // Eight of each kind, spread so that every kind lands in every format.
  const corpus = generateCorpus({ seed: 3, targetBytes: 400_000, secretsPerKind: FORMATS.length });

  it('plants every kind in every format', () => {
    for (const kind of PLANTED_KINDS) {
      const formats = new Set(
        corpus.planted.filter((p) => p.kind === kind).map((p) => p.file.split('.').pop()),
      );
      assert.equal(formats.size, FORMATS.length, `${kind}: ${[...formats].join(' ')}`);
    }
  });

  it('finds every planted secret, with its kind, line and exact value, and nothing else', () => {
    const found = corpus.files.flatMap((file) =>
      detectSecrets(file.text, { path: file.path }).map((f) => ({ file: file.path, f })),
    );
    const at = new Map(found.map(({ file, f }) => [`${file}:${f.line}`, f]));
    const missed: string[] = [];
    for (const planted of corpus.planted) {
      const finding = at.get(`${planted.file}:${planted.line}`);
      const exact = planted.kind === 'private-key' || finding?.secret === planted.secret;
      if (finding?.kind !== planted.kind || !exact) {
        missed.push(`${planted.kind} in ${planted.file}:${planted.line} (got ${finding?.kind})`);
      }
    }
    assert.deepEqual(missed, []);
    assert.equal(found.length, corpus.planted.length, 'a finding that was not planted');
  });
});

describe('detectSecrets: no false positives', () => {
  it('finds nothing in a megabyte of generated code, data, lockfiles and base64 blobs', () => {
    const corpus = generateCorpus({ seed: 11, targetBytes: 1_000_000 });
    const findings = corpus.files.flatMap((file) =>
      detectSecrets(file.text, { path: file.path }).map((f) => `${file.path}:${f.line} ${f.kind}`),
    );
    assert.deepEqual(findings, []);
  });

  it('finds nothing in hashes, UUIDs, base64 images, integrity hashes and long identifiers', () => {
    const hex = (n: number) => randomString(rng, n, '0123456789abcdef');
    const b64 = (n: number) => randomString(rng, n, `${BASE62_ALPHABET}+/`);
    const lines = [
      `sha1 ${hex(40)}`,
      `sha256: ${hex(64)}`,
      `"checksum": "${hex(64)}"`,
      `commit = "${hex(40)}"`,
      `id: ${crypto.randomUUID()}`,
      `const requestId = '${crypto.randomUUID()}';`,
      `"integrity": "sha512-${b64(86)}=="`,
      `"integrity": "sha1-${b64(27)}="`,
      `<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA${b64(4000)}=">`,
      b64(76),
      `const thisIsAVeryLongIdentifierNameThatGoesOnAndOn_with_snake_case_parts_too = 1;`,
      `token_type: bearer`,
      `max_tokens: 4096`,
      `password: \${DB_PASSWORD}`,
      `api_key = os.environ["API_KEY"]`,
      `SECRET_KEY=changeme`,
      `client_secret: "<your client secret>"`,
      `"apiKey": "{{ .Values.apiKey }}"`,
      `Authorization: Bearer <token>`,
      `Authorization: Bearer $TOKEN`,
      `passwordHash: "$2b$12$${b64(53).replace(/[+/]/g, 'x')}"`,
      `AWS_ACCESS_KEY_ID=${'AKIA'}IOSFODNN7EXAMPLE`,
      `STRIPE_KEY=${'sk'}_test_xxxxxxxxxxxxxxxxxxxxxxxx`,
      `export GITHUB_TOKEN=${'gh'}p_000000000000000000000000000000000000`,
      `OPENAI_API_KEY=${'sk'}-...`,
      'displayed as kw_prod_…uOupm',
      `key look-alike ${wrongChecksumKey(rng)}`,
      `tokenizer = AutoTokenizer.from_pretrained("bert-base-multilingual-uncased-v2")`,
      `const secretName = "prod/billing/database-credentials-2024";`,
      `token_url: https://oauth2.googleapis.com/token`,
      `'-----BEGIN PRIVATE KEY-----'`,
      `const pem = \`-----BEGIN RSA PRIVATE KEY-----\n\${body}\n-----END RSA PRIVATE KEY-----\`;`,
    ];
    for (const line of lines) assert.deepEqual(kinds(line), [], line);
    assert.deepEqual(kinds(lines.join('\n')), []);
  });

  it('never reports a keywarden-shaped string with a wrong checksum (property)', () => {
    const shaped = fc
      .record({
        prefix: fc.stringMatching(/^[a-z][a-z0-9]{1,11}$/),
        env: fc.stringMatching(/^[a-z]{2,10}$/),
        tail: fc.stringMatching(/^[0-9A-Za-z]{36}$/),
      })
      .map(({ prefix, env, tail }) => `${prefix}_${env}_${tail}`)
      .filter((candidate) => !checkKeyFormat(candidate).ok)
      // `gho_aa_…` or `github_pat_…` is another provider's token shape, rightly reported as
      // theirs: only look-alikes no other pattern claims are false positives here.
      .filter(
        (candidate) => !TOKEN_PATTERNS.some((p) => p.triggers.some((t) => candidate.startsWith(t))),
      );
    fc.assert(
      fc.property(shaped, fc.constantFrom(' ', '"', '=', '\n', ''), (candidate, around) => {
        assert.deepEqual(kinds(`${around}${candidate}${around}`), []);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('detectSecrets: keywarden keys', () => {
  it('finds a key wherever it sits, glued to other characters included (property)', () => {
    const keyArb = fc
      .record({
        prefix: fc.stringMatching(/^[a-z][a-z0-9]{1,11}$/),
        env: fc.stringMatching(/^[a-z]{2,10}$/),
      })
      .map(({ prefix, env }) => generateKey({ prefix, env }));
    const textArb = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom('', ' ', '"', "'", '\\n', 'x_', '_', 'TOKEN=', 'Bearer ', '\n', '`'),
    );
    fc.assert(
      fc.property(textArb, keyArb, textArb, (before, k, after) => {
        const text = `${before}${k}${after}`;
        if (text.includes('keywarden:allow') || text.includes('gitleaks:allow')) return;
        const found = detectSecrets(text).filter((f) => f.kind === 'keywarden');
        assert.ok(
          found.some((f) => f.secret === k),
          `missed ${k} in ${JSON.stringify(text)}`,
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('finds at least what KEY_CANDIDATE_REGEX and the checksum find', () => {
    const keys = Array.from({ length: 50 }, (_, i) => key(`p${i % 7}x`, 'prod'));
    const text = keys.map((k, i) => (i % 3 === 0 ? `${k}\n` : `value "${k}" `)).join('');
    const byRegex = [...text.matchAll(KEY_CANDIDATE_REGEX)]
      .map((m) => m[0])
      .filter((c) => checkKeyFormat(c).ok);
    const found = detectSecrets(text).map((f) => f.secret);
    assert.equal(byRegex.length, 50);
    assert.deepEqual(found, byRegex);
  });

  it('reports the display form, never the key, and keeps the secret out of JSON', () => {
    const k = key('acme', 'staging');
    const [finding] = detectSecrets(`const k = "${k}";`);
    assert.ok(finding);
    assert.equal(finding.kind, 'keywarden');
    assert.equal(finding.ruleId, 'keywarden-api-key');
    assert.equal(finding.redacted, displayKey(k));
    assert.equal(finding.secret, k);
    assert.equal(JSON.stringify(finding).includes(k), false);
    assert.equal(JSON.stringify({ ...finding }).includes(k), false);
    assert.equal(Object.keys(finding).includes('secret'), false);
  });

  it('gives 1-based lines and columns, and the end just past the secret', () => {
    const k = key();
    const text = `line one\r\nline two\n  x = '${k}'\n`;
    const [finding] = detectSecrets(text);
    assert.deepEqual(
      {
        line: finding?.line,
        column: finding?.column,
        endLine: finding?.endLine,
        endColumn: finding?.endColumn,
      },
      { line: 3, column: 8, endLine: 3, endColumn: 8 + k.length },
    );
  });

  it('prefers a confirmed key over a colliding third-party shape', () => {
    const k = key('sk', 'live');
    assert.deepEqual(kinds(`STRIPE=${k}`), ['keywarden']);
    const pat = key('github', 'pat');
    assert.deepEqual(kinds(`token: ${pat}`), ['keywarden']);
  });
});

describe('detectSecrets: third-party formats', () => {
  for (const kind of PLANTED_KINDS) {
    if (kind === 'keywarden' || kind === 'generic-high-entropy') continue;
    it(`finds ${kind} with its kind and a redacted form`, () => {
      for (let i = 0; i < 20; i++) {
        const secret = makeSecret(kind, rng);
        const text: string =
          kind === 'aws-secret-access-key'
            ? `aws_secret_access_key = ${secret}\n`
            : `value: ${secret}\n`;
        const found = detectSecrets(text);
        assert.equal(found.length, 1, `${kind}: ${JSON.stringify(text).slice(0, 80)}`);
        assert.equal(found[0]?.kind, kind);
        assert.equal(
          found[0]?.redacted,
          `[REDACTED:${kind === 'aws-access-key-id' ? 'aws' : kind === 'google-api-key' ? 'google' : kind}]`,
        );
        assert.equal(found[0]?.redacted.includes(secret), false);
      }
    });
  }

  it('takes an unterminated private key up to the end of its base64 lines', () => {
    const pem = makeSecret('private-key', rng).split('\n').slice(0, 5);
    const text = `key:\n${pem.join('\n')}\nnext: line of code\n`;
    const [finding] = detectSecrets(text);
    assert.equal(finding?.kind, 'private-key');
    assert.deepEqual([finding?.line, finding?.endLine], [2, 6]);
  });

  it('finds a private key inside a JSON string', () => {
    const pem = makeSecret('private-key', rng).replace(/\n/g, '\\n');
    assert.deepEqual(kinds(`{"type":"service_account","private_key":"${pem}\\n"}`), [
      'private-key',
    ]);
  });

  it('rejects documentation stand-ins in a token shape', () => {
    assert.equal(isPlaceholderToken(`${'AKIA'}IOSFODNN7EXAMPLE`), true);
    assert.equal(isPlaceholderToken(`${'sk'}_live_xxxxxxxxxxxxxxxxxxxxxxxx`), true);
    assert.equal(isPlaceholderToken(makeSecret('github', rng)), false);
  });

  it('describes every core pattern type in the rule catalogue, with unique ids', () => {
    for (const pattern of SECRET_PATTERNS)
      assert.ok(isDescribedPatternType(pattern.type), pattern.type);
    const ids = SCAN_RULES.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length);
  });
});

describe('detectSecrets: high-entropy values assigned to secret names', () => {
  const value = 'q8Zr2LmX5vN7pK1tW4yB9cD3fG6hJ0sA';

  it('finds them in code, JSON, YAML, .env, INI and after Bearer', () => {
    const positives = [
      `const apiKey = "${value}";`,
      `let client_secret = '${value}'`,
      `API_KEY = "${value}"`,
      `token := "${value}"`,
      `:auth_token => '${value}'`,
      `  "password": "${value}",`,
      `  db_password: ${value}`,
      `  webhook_secret: "${value}"`,
      `- access_key: ${value}`,
      `STRIPE_SECRET_KEY=${value}`,
      `export GITHUB_TOKEN=${value}`,
      `SECRET_KEY_BASE=${value} # rails`,
      `private_key = ${value}`,
      `curl -H "Authorization: Bearer ${value}" https://api.example.com`,
      `client_secret = "${crypto.randomUUID()}"`,
      `signing_key: "${createHash('sha256').update('x').digest('hex')}"`,
    ];
    for (const line of positives) {
      const found = detectSecrets(line);
      assert.equal(found.length, 1, line);
      assert.equal(found[0]?.kind, 'generic-high-entropy', line);
      assert.equal(found[0]?.redacted, '[REDACTED:generic-high-entropy]');
    }
  });

  it('leaves names that describe a secret, unquoted code and low-entropy values alone', () => {
    const negatives = [
      `const tokenUrl = "${value}";`,
      `api_key_id: ${value}`,
      `secret_name: ${value}`,
      `const secretSha256 = "${value}";`,
      `const token = computeToken(${value});`,
      `token = ${value}.strip()`,
      `if token == "${value}":`,
      `password: "correct-horse-battery-staple"`,
      `password: "Password1234567890"`,
      `api_key: "abcdefghijklmnopqrstuvwxyz"`,
      `token: "${'ab'.repeat(12)}"`,
      `const apiKey = "short1";`,
    ];
    for (const line of negatives) assert.deepEqual(kinds(line), [], line);
  });

  it('is skipped in lockfiles and when disabled', () => {
    const line = `"token": "${value}"`;
    assert.deepEqual(kinds(line, 'a/package-lock.json'), []);
    assert.deepEqual(kinds(line, 'yarn.lock'), []);
    assert.deepEqual(kinds(line, 'config.json'), ['generic-high-entropy']);
    assert.deepEqual(
      detectSecrets(line, { generic: false }).map((f) => f.kind),
      [],
    );
  });
});

describe('detectSecrets: allow comments and fingerprints', () => {
  it('skips lines marked keywarden:allow or gitleaks:allow', () => {
    const k = key();
    assert.deepEqual(kinds(`const k = "${k}"; // keywarden:allow`), []);
    assert.deepEqual(kinds(`k = "${k}"  # gitleaks:allow`), []);
    assert.deepEqual(kinds(`# keywarden:allow\nk = "${k}"`), ['keywarden']);
    const pem = makeSecret('private-key', rng).split('\n');
    pem[pem.length - 1] += ' keywarden:allow';
    assert.deepEqual(kinds(pem.join('\n')), []);
  });

  it('fingerprints with sha256 of rule and secret: stable, per rule, never the secret', () => {
    const k = key();
    const [a] = detectSecrets(`x ${k}`);
    const [b] = detectSecrets(`elsewhere\n\n   "${k}"`);
    assert.equal(a?.fingerprint, b?.fingerprint);
    assert.equal(
      a?.fingerprint,
      createHash('sha256').update(`keywarden-api-key\0${k}`).digest('hex'),
    );
    assert.notEqual(fingerprintOf('other-rule', k), a?.fingerprint);
    assert.match(a?.fingerprint ?? '', /^[0-9a-f]{64}$/);
  });
});

describe('detectSecrets: bounded work', () => {
  it('stays fast on adversarial input', () => {
    const mb = 1024 * 1024;
    for (const input of [
      'a'.repeat(mb),
      'a_'.repeat(mb / 2),
      'ab_cd_'.repeat(mb / 6),
      `kw_prod_${'A'.repeat(mb)}`,
      'token='.repeat(mb / 6),
      'password: "'.repeat(mb / 11),
      `-----BEGIN PRIVATE KEY-----\n${'A'.repeat(mb)}`,
      '-----BEGIN PRIVATE KEY-----\n'.repeat(mb / 28),
      'Bearer '.repeat(mb / 7),
    ]) {
      const started = performance.now();
      detectSecrets(input);
      const elapsed = performance.now() - started;
      assert.ok(
        elapsed < 2000,
        `${elapsed.toFixed(0)} ms for ${JSON.stringify(input.slice(0, 30))}`,
      );
    }
  });
});
