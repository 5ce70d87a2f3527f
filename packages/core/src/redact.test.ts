import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BASE62_ALPHABET, type RandomBytes } from './base62.ts';
import { checkKeyFormat, displayKey, generateKey } from './key-format.ts';
import {
  redactHeaderValue,
  redactSecrets,
  redactUrl,
  SECRET_PARAM_NAMES,
  SENSITIVE_HEADER_NAMES,
} from './redact.ts';

// Third-party fixtures are assembled from pieces so that this file does not itself look like
// a leaked secret to scanners and push protection. None of them is a real credential.
const filler = (length: number, alphabet = BASE62_ALPHABET) =>
  Array.from({ length }, (_, i) => alphabet[(i * 7 + 3) % alphabet.length]).join('');
const FIXTURES = {
  openaiLegacy: `${'sk'}-${filler(48)}`,
  openaiProject: `${'sk'}-proj-${filler(100, `${BASE62_ALPHABET}_-`)}`,
  githubClassic: `${'gh'}p_${filler(36)}`,
  githubOAuth: `${'gh'}o_${filler(36)}`,
  githubFineGrained: `${'github'}_pat_${filler(22)}_${filler(59)}`,
  stripeLive: `${'sk'}_live_${filler(99)}`,
  stripeRestrictedTest: `${'rk'}_test_${filler(24)}`,
  aws: `${'AKIA'}IOSFODNN7EXAMPLE`,
  slack: `${'xox'}b-123456789012-1234567890123-${filler(24)}`,
  google: `${'AI'}za${filler(35, `${BASE62_ALPHABET}_-`)}`,
  anthropic: `${'sk'}-ant-api03-${filler(93, `${BASE62_ALPHABET}_-`)}AA`,
  npm: `${'npm'}_${filler(36)}`,
  gitlab: `${'gl'}pat-${filler(20, `${BASE62_ALPHABET}_-`)}`,
  sendgrid: `${'SG'}.${filler(22, `${BASE62_ALPHABET}_-`)}.${filler(43, `${BASE62_ALPHABET}_-`)}`,
};
// 40 characters of base64 that end in `/` and `+` on purpose: a `\b` at the end would miss them.
const AWS_SECRET = `${filler(38, `${BASE62_ALPHABET}/+`)}/+`;
const PEM_BODY = `MIIEpAIBAAKCAQEA${filler(64, `${BASE62_ALPHABET}+/`)}\n${filler(40, `${BASE62_ALPHABET}+/`)}==`;
const pem = (label: string) => `-----BEGIN ${label}-----\n${PEM_BODY}\n-----END ${label}-----`;

const DESIGN_KEY = ['kw', 'prod', 'M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq0uOupm'].join('_'); // built at run time: no valid key in the repository;
const BAD_CHECKSUM_KEY = 'kw_prod_M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq0uOupX';

function bytesSpelling(random: string): RandomBytes {
  const bytes = [...random].map((char) => BASE62_ALPHABET.indexOf(char));
  let next = 0;
  return (length) => Uint8Array.from({ length }, () => bytes[next++] ?? 0);
}
const keyArb = fc
  .record({
    prefix: fc.stringMatching(/^[a-z][a-z0-9]{1,11}$/),
    env: fc.stringMatching(/^[a-z]{2,10}$/),
    random: fc.stringMatching(/^[0-9A-Za-z]{30}$/),
  })
  .map(({ prefix, env, random }) => ({
    random,
    key: generateKey({ prefix, env, randomBytes: bytesSpelling(random) }),
  }));
const textArb = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.stringMatching(/^[A-Za-z0-9_=&?:/ -]{0,20}$/),
  fc.constantFrom(
    '',
    ' ',
    'x',
    '_',
    'Bearer ',
    'Basic ',
    'api_key=',
    '?token=',
    '"password":"',
    'https://user:',
    'abcdefghijkl',
    '-----BEGIN PRIVATE KEY-----\n',
    `${'sk'}-`,
    `${'AI'}za`,
    `${'github'}_pat_`,
  ),
);

function assertGone(output: string, secret: string) {
  assert.ok(!output.includes(secret), `secret survived in: ${output}`);
}

describe('redactSecrets: keywarden keys', () => {
  it('replaces a confirmed key with its display form', () => {
    assert.equal(redactSecrets(`using ${DESIGN_KEY} now`), 'using kw_prod_…uOupm now');
    assert.equal(redactSecrets(`"${DESIGN_KEY}"`), '"kw_prod_…uOupm"');
    const key = generateKey({ prefix: 'acme', env: 'staging' });
    assert.equal(redactSecrets(`[${key}]`), `[${displayKey(key)}]`);
  });

  it('replaces a key-shaped string with a bad checksum by [REDACTED]', () => {
    assert.equal(redactSecrets(`using ${BAD_CHECKSUM_KEY} now`), 'using [REDACTED] now');
  });

  it('removes a key glued to other word characters', () => {
    for (const text of [`x_${DESIGN_KEY}`, `${DESIGN_KEY}_x`, `abc${DESIGN_KEY}123`]) {
      const output = redactSecrets(text);
      assertGone(output, DESIGN_KEY);
      assertGone(output, 'M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq');
    }
  });

  it('never lets a key — or its random part — through, whatever surrounds it (property)', () => {
    fc.assert(
      fc.property(textArb, keyArb, textArb, (before, { key, random }, after) => {
        const output = redactSecrets(before + key + after);
        assertGone(output, key);
        assertGone(output, random);
      }),
      { numRuns: 2000 },
    );
  });

  it('removes every key of several in one text (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(textArb, keyArb), { minLength: 1, maxLength: 5 }), (parts) => {
        const output = redactSecrets(parts.map(([text, { key }]) => text + key).join(''));
        for (const [, { random }] of parts) assertGone(output, random);
      }),
    );
  });
});

describe('redactSecrets: credentials in context', () => {
  it('redacts Bearer and Basic credentials, keeping the scheme', () => {
    assert.equal(
      redactSecrets('Authorization: Bearer abc.def-ghi'),
      'Authorization: Bearer [REDACTED]',
    );
    assert.equal(redactSecrets('authorization: bearer abc123'), 'authorization: bearer [REDACTED]');
    assert.equal(
      redactSecrets('Authorization: Basic dXNlcjpwYXNz'),
      'Authorization: Basic [REDACTED]',
    );
    assert.equal(redactSecrets('BEARER a/b+c=='), 'BEARER [REDACTED]');
    assert.equal(
      redactSecrets(`-H "Authorization: Bearer ${DESIGN_KEY}"`),
      '-H "Authorization: Bearer kw_prod_…uOupm"',
    );
  });

  it('redacts secret query and form values, and nothing else', () => {
    assert.equal(redactSecrets('GET /v1/x?api_key=abc&x=1'), 'GET /v1/x?api_key=[REDACTED]&x=1');
    assert.equal(
      redactSecrets('username=bob&password=hunter2&remember=1'),
      'username=bob&password=[REDACTED]&remember=1',
    );
    assert.equal(redactSecrets('?ApiKey=abc#x'), '?ApiKey=[REDACTED]#x');
    for (const name of SECRET_PARAM_NAMES) {
      const output = redactSecrets(`/p?a=1&${name}=s3cr3t-Value&b=2`);
      assert.equal(output, `/p?a=1&${name}=[REDACTED]&b=2`, name);
    }
    assert.equal(redactSecrets(`?key=${DESIGN_KEY}`), '?key=kw_prod_…uOupm');
  });

  it('redacts secret JSON fields', () => {
    assert.equal(
      redactSecrets('{"user":"bob","password":"hunter2","token" : "a\\"b"}'),
      '{"user":"bob","password":"[REDACTED]","token" : "[REDACTED]"}',
    );
    // Truncated in the middle of the value: the rest of the text goes.
    assert.equal(redactSecrets('{"secret":"abcdef'), '{"secret":"[REDACTED]');
  });

  it('redacts the password of a URL', () => {
    assert.equal(
      redactSecrets('connect ECONNREFUSED postgres://kw:s3cret@db:5432/kw'),
      'connect ECONNREFUSED postgres://kw:[REDACTED]@db:5432/kw',
    );
    assert.equal(redactSecrets('redis://:pw@localhost:6379'), 'redis://:[REDACTED]@localhost:6379');
  });
});

describe('redactSecrets: third-party formats', () => {
  const expectations: [string, string][] = [
    [FIXTURES.openaiLegacy, '[REDACTED:openai]'],
    [FIXTURES.openaiProject, '[REDACTED:openai]'],
    [FIXTURES.githubClassic, '[REDACTED:github]'],
    [FIXTURES.githubOAuth, '[REDACTED:github]'],
    [FIXTURES.githubFineGrained, '[REDACTED:github]'],
    [FIXTURES.stripeLive, '[REDACTED:stripe]'],
    [FIXTURES.stripeRestrictedTest, '[REDACTED:stripe]'],
    [FIXTURES.aws, '[REDACTED:aws]'],
    [FIXTURES.slack, '[REDACTED:slack]'],
    [FIXTURES.google, '[REDACTED:google]'],
    [FIXTURES.anthropic, '[REDACTED:anthropic]'],
    [FIXTURES.npm, '[REDACTED:npm]'],
    [FIXTURES.gitlab, '[REDACTED:gitlab]'],
    [`${FIXTURES.gitlab}.01.${filler(9)}`, '[REDACTED:gitlab]'],
    [FIXTURES.sendgrid, '[REDACTED:sendgrid]'],
    [pem('RSA PRIVATE KEY'), '[REDACTED:private-key]'],
    [pem('PRIVATE KEY'), '[REDACTED:private-key]'],
    [pem('OPENSSH PRIVATE KEY'), '[REDACTED:private-key]'],
    [pem('EC PRIVATE KEY'), '[REDACTED:private-key]'],
    [pem('PGP PRIVATE KEY BLOCK'), '[REDACTED:private-key]'],
  ];

  it('replaces each format with its typed label', () => {
    for (const [secret, label] of expectations) {
      assert.equal(redactSecrets(`before ${secret} after`), `before ${label} after`, label);
      assert.equal(redactSecrets(`env=${secret}\n`).includes(secret), false, label);
    }
  });

  it('redacts an AWS secret access key by the name it is assigned to, keeping the name', () => {
    const label = '[REDACTED:aws-secret-access-key]';
    const contexts: [string, string][] = [
      [`aws_secret_access_key = ${AWS_SECRET}`, `aws_secret_access_key = ${label}`],
      [`AWS_SECRET_ACCESS_KEY=${AWS_SECRET}\n`, `AWS_SECRET_ACCESS_KEY=${label}\n`],
      [`{"SecretAccessKey": "${AWS_SECRET}"}`, `{"SecretAccessKey": "${label}"}`],
      [`  aws_secret_access_key: '${AWS_SECRET}'`, `  aws_secret_access_key: '${label}'`],
      [`secretAccessKey: "${AWS_SECRET}",`, `secretAccessKey: "${label}",`],
      [`AWS_SECRET_KEY := "${AWS_SECRET}"`, `AWS_SECRET_KEY := "${label}"`],
    ];
    for (const [text, expected] of contexts) assert.equal(redactSecrets(text), expected, text);
    // Not 40 characters, or no such name before it: left alone.
    for (const text of [
      `aws_secret_access_key = ${AWS_SECRET}AB`,
      `aws_secret_access_key = ${AWS_SECRET.slice(1)}`,
      `checksum = ${AWS_SECRET}`,
    ]) {
      assert.equal(redactSecrets(text), text, text);
    }
  });

  it('labels an Anthropic key as such, not as OpenAI', () => {
    assert.equal(redactSecrets(`k=${FIXTURES.anthropic}`), 'k=[REDACTED:anthropic]');
  });

  it('redacts an unterminated private key block to the end of the text', () => {
    const truncated = pem('RSA PRIVATE KEY').slice(0, 80);
    assert.equal(redactSecrets(`key file:\n${truncated}`), 'key file:\n[REDACTED:private-key]');
  });

  it('never lets a third-party secret through between arbitrary words (property)', () => {
    const secrets = expectations.map(([secret]) => secret);
    const wordsArb = fc.string({ unit: 'binary' }).map((text) => ` ${text} `);
    fc.assert(
      fc.property(wordsArb, fc.constantFrom(...secrets), wordsArb, (before, secret, after) => {
        assertGone(redactSecrets(before + secret + after), secret);
      }),
      { numRuns: 500 },
    );
  });

  it('prefers a confirmed keywarden key over a colliding third-party shape', () => {
    // `sk` and `live` are a valid project prefix and env.
    const key = generateKey({ prefix: 'sk', env: 'live' });
    assert.equal(redactSecrets(`k=${key}`), `k=${displayKey(key)}`);
    assert.equal(redactSecrets(key), displayKey(key));
  });
});

describe('redactSecrets: everything else', () => {
  it('leaves ordinary text unchanged', () => {
    const ordinary = [
      '',
      'hello world',
      'GET /v1/keys?limit=10&cursor=abc 200 3ms',
      'key_id=key_01J9Z3 revoked by admin_7',
      'monkey=banana; risky=no',
      'snake_case_identifier_that_is_quite_long_but_not_a_key_at_all_really',
      'sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'request 0f8fe3c2-2b6f-4a3e-9d7c-6f2a1c0e9b8d took 12 ms',
      'basic usage: see https://example.com/docs?page=2#intro',
      'sk-learn is a library; task-force; skip',
      'displayed as kw_prod_…uOupm',
      'ATTENTION: AKIA prefix alone is fine',
    ];
    for (const text of ordinary) assert.equal(redactSecrets(text), text, text);
  });

  it('is idempotent (property)', () => {
    const secretArb = fc.oneof(
      keyArb.map(({ key }) => key),
      fc.constantFrom(...Object.values(FIXTURES), BAD_CHECKSUM_KEY, 'Bearer abc', 'token=x'),
    );
    fc.assert(
      fc.property(textArb, secretArb, textArb, (before, secret, after) => {
        const once = redactSecrets(before + secret + after);
        assert.equal(redactSecrets(once), once);
      }),
      { numRuns: 1000 },
    );
  });

  it('stays fast on a megabyte of adversarial input', () => {
    const mb = 1024 * 1024;
    const inputs = [
      'a'.repeat(mb),
      'a_'.repeat(mb / 2),
      'ab_cd_'.repeat(mb / 6),
      `${'Bearer '.repeat(mb / 7)}`,
      'key=&'.repeat(mb / 5),
      '"token":"\\'.repeat(mb / 10),
      'a.'.repeat(mb / 4) + '://x:'.repeat(mb / 10),
      '-----BEGIN PRIVATE KEY-----'.repeat(mb / 27),
      `${'sk'}-${'a'.repeat(mb)}`,
      `kw_prod_${'A'.repeat(mb)}`,
      'secret_access_key="'.repeat(mb / 19),
      `secretAccessKey: ${'/'.repeat(mb)}`,
      `${'gl'}pat-${'a.'.repeat(mb / 2)}`,
    ];
    for (const input of inputs) {
      const started = performance.now();
      redactSecrets(input);
      const elapsed = performance.now() - started;
      assert.ok(
        elapsed < 1000,
        `${elapsed.toFixed(0)} ms for ${JSON.stringify(input.slice(0, 30))}…`,
      );
    }
  });
});

describe('redactHeaderValue', () => {
  it('lists the sensitive headers in lower case', () => {
    for (const name of [
      'authorization',
      'proxy-authorization',
      'x-api-key',
      'cookie',
      'set-cookie',
      'x-keywarden-admin-key',
    ]) {
      assert.ok(SENSITIVE_HEADER_NAMES.includes(name), name);
    }
    for (const name of SENSITIVE_HEADER_NAMES) assert.equal(name, name.toLowerCase());
  });

  it('keeps only a known authorization scheme', () => {
    assert.equal(redactHeaderValue('Authorization', `Bearer ${DESIGN_KEY}`), 'Bearer [REDACTED]');
    assert.equal(redactHeaderValue('authorization', 'Basic dXNlcjpwYXNz'), 'Basic [REDACTED]');
    assert.equal(redactHeaderValue('Proxy-Authorization', 'Negotiate abc'), 'Negotiate [REDACTED]');
    // No scheme, or something that may itself be the secret: all of it goes.
    assert.equal(redactHeaderValue('authorization', DESIGN_KEY), '[REDACTED]');
    assert.equal(redactHeaderValue('authorization', 'hunter2 extra'), '[REDACTED]');
  });

  it('redacts every other credential header whole', () => {
    for (const name of SENSITIVE_HEADER_NAMES) {
      if (name.endsWith('authorization')) continue;
      assert.equal(redactHeaderValue(name, 'anything at all'), '[REDACTED]', name);
      assert.equal(redactHeaderValue(name.toUpperCase(), DESIGN_KEY), '[REDACTED]', name);
    }
  });

  it('passes other headers through redactSecrets', () => {
    assert.equal(redactHeaderValue('user-agent', 'curl/8.5.0'), 'curl/8.5.0');
    assert.equal(
      redactHeaderValue('referer', `https://a.example/?token=abc`),
      'https://a.example/?token=[REDACTED]',
    );
    assert.equal(redactHeaderValue('x-debug', DESIGN_KEY), 'kw_prod_…uOupm');
  });
});

describe('redactUrl', () => {
  it('redacts secret query and fragment values, matching names case-insensitively', () => {
    assert.equal(redactUrl('/v1/x?api_key=abc&x=1'), '/v1/x?api_key=[REDACTED]&x=1');
    assert.equal(
      redactUrl('/cb#access_token=abc&state=xyz'),
      '/cb#access_token=[REDACTED]&state=xyz',
    );
    assert.equal(redactUrl('/p?API_KEY=abc&Token=def'), '/p?API_KEY=[REDACTED]&Token=[REDACTED]');
    // Percent-encoded names are decoded before comparing; malformed encoding does not throw.
    assert.equal(redactUrl('/p?api%5Fkey=abc&%E0%A4%A=1'), '/p?api%5Fkey=[REDACTED]&%E0%A4%A=1');
  });

  it('redacts keys in the path and in other parameters, and URL passwords', () => {
    assert.equal(
      redactUrl(`/v1/keys/${DESIGN_KEY}/x?q=${DESIGN_KEY}`),
      '/v1/keys/kw_prod_…uOupm/x?q=kw_prod_…uOupm',
    );
    assert.equal(
      redactUrl(`https://u:p4ss@h.example/x?${BAD_CHECKSUM_KEY}`),
      'https://u:[REDACTED]@h.example/x?[REDACTED]',
    );
  });

  it('leaves ordinary URLs unchanged', () => {
    for (const url of [
      '/healthz',
      '/v1/keys?limit=10&cursor=abc',
      'https://example.com/a/b?x=1#top',
      '/p?',
    ]) {
      assert.equal(redactUrl(url), url);
    }
  });

  it('never lets a key through (property)', () => {
    fc.assert(
      fc.property(textArb, keyArb, textArb, (before, { key, random }, after) => {
        const output = redactUrl(before + key + after);
        assertGone(output, random);
        assertGone(output, key);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('fixtures', () => {
  it('are not keywarden keys', () => {
    for (const secret of Object.values(FIXTURES)) assert.equal(checkKeyFormat(secret).ok, false);
  });
});
