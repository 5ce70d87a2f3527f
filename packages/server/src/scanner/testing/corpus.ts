import { BASE62_ALPHABET, checkKeyFormat, generateKey } from '@keywarden/core';

/**
 * A generated corpus for the scanner's tests and benchmark: source, config and data files in
 * the formats secrets leak through, with secrets of every detected kind planted at known
 * lines, and noise that must produce no finding (hashes, UUIDs, base64 images, lockfile
 * integrity hashes, key look-alikes with a wrong checksum, placeholders, long identifiers).
 *
 * Every secret is assembled at run time from a seeded generator, so that no real-looking
 * credential is ever committed (and this file trips no scanner or push protection), and a
 * given seed always gives the same corpus.
 */

export type Rng = () => number;

/** mulberry32: small, fast, and good enough to make test data. */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const B64URL = `${BASE62_ALPHABET}_-`;
const B64 = `${BASE62_ALPHABET}+/`;
const HEX = '0123456789abcdef';

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

export function randomString(rng: Rng, length: number, alphabet: string): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(rng() * alphabet.length)];
  return out;
}

/** Random, but with a letter and a digit, as generated credentials have. */
function mixedString(rng: Rng, length: number, alphabet = BASE62_ALPHABET): string {
  for (;;) {
    const value = randomString(rng, length, alphabet);
    if (/[0-9]/.test(value) && /[A-Za-z]/.test(value)) return value;
  }
}

export const PLANTED_KINDS = [
  'keywarden',
  'openai',
  'anthropic',
  'github',
  'stripe',
  'aws-access-key-id',
  'aws-secret-access-key',
  'slack',
  'google-api-key',
  'npm',
  'gitlab',
  'sendgrid',
  'private-key',
  'generic-high-entropy',
] as const;
export type PlantedKind = (typeof PLANTED_KINDS)[number];

function pemBody(rng: Rng): string[] {
  // DER of an RSA key starts with 0x30 0x82, hence the customary "MII".
  const body = `MIIEow${randomString(rng, 1570, B64)}`;
  const lines: string[] = [];
  for (let i = 0; i < body.length; i += 64) lines.push(body.slice(i, i + 64));
  return lines;
}

/** One secret of the kind, built from parts (no literal prefix appears whole in this file). */
export function makeSecret(kind: PlantedKind, rng: Rng): string {
  switch (kind) {
    case 'keywarden':
      return generateKey({
        prefix: pick(rng, ['kw', 'acme', 'billing', 'sk', 'pay2']),
        env: pick(rng, ['prod', 'dev', 'staging', 'live']),
        randomBytes: (length) => Uint8Array.from({ length }, () => Math.floor(rng() * 256)),
      });
    case 'openai':
      return rng() < 0.5
        ? `${'s'}k-${mixedString(rng, 20)}${'T3Blbk'}FJ${mixedString(rng, 20)}`
        : `${'s'}k-${pick(rng, ['proj', 'svcacct', 'admin'])}-${randomString(rng, 74, B64URL)}${'T3Blbk'}FJ${randomString(rng, 74, B64URL)}`;
    case 'anthropic':
      return `${'s'}k-${'ant'}-api03-${randomString(rng, 93, B64URL)}AA`;
    case 'github':
      return rng() < 0.5
        ? `${'gh'}${pick(rng, ['p', 'o', 'u', 's', 'r'])}_${mixedString(rng, 36)}`
        : `${'github'}_${'pat'}_${mixedString(rng, 22)}_${mixedString(rng, 59)}`;
    case 'stripe':
      return `${pick(rng, ['s', 'r'])}${'k'}_${pick(rng, ['live', 'test'])}_${mixedString(rng, pick(rng, [24, 34, 99]))}`;
    case 'aws-access-key-id':
      return `${pick(rng, ['AK', 'AS'])}${'IA'}${randomString(rng, 16, UPPER_DIGITS)}`;
    case 'aws-secret-access-key':
      return mixedString(rng, 40, B64);
    case 'slack':
      return `${'xo'}x${pick(rng, ['b', 'p'])}-${randomString(rng, 12, '0123456789')}-${randomString(rng, 13, '0123456789')}-${mixedString(rng, 24)}`;
    case 'google-api-key':
      return `${'AI'}za${randomString(rng, 35, B64URL)}`;
    case 'npm':
      return `${'np'}m_${mixedString(rng, 36)}`;
    case 'gitlab':
      return `${'gl'}pat-${randomString(rng, 20, B64URL)}`;
    case 'sendgrid':
      return `${'S'}G.${randomString(rng, 22, B64URL)}.${randomString(rng, 43, B64URL)}`;
    case 'private-key':
      return [
        `-----BEGIN ${'RSA'} PRIVATE ${'KEY'}-----`,
        ...pemBody(rng),
        `-----END ${'RSA'} PRIVATE ${'KEY'}-----`,
      ].join('\n');
    case 'generic-high-entropy':
      return mixedString(rng, pick(rng, [24, 32, 40]));
  }
}

export const FORMATS = ['ts', 'js', 'py', 'json', 'yaml', 'env', 'txt', 'md'] as const;
export type Format = (typeof FORMATS)[number];

const EXTENSION: Record<Format, string> = {
  ts: 'ts',
  js: 'js',
  py: 'py',
  json: 'json',
  yaml: 'yaml',
  env: 'env',
  txt: 'log',
  md: 'md',
};

/** A secret-sounding name for a kind, in the case conventions of a format. */
function nameFor(kind: PlantedKind, format: Format, rng: Rng): string {
  const base =
    kind === 'aws-secret-access-key'
      ? pick(rng, ['aws_secret_access_key', 'secret_access_key'])
      : kind === 'generic-high-entropy'
        ? pick(rng, [
            'db_password',
            'client_secret',
            'api_key',
            'auth_token',
            'webhook_secret',
            'access_token',
          ])
        : pick(rng, [
            `${kind.replace(/-/g, '_')}_api_key`,
            `${kind.replace(/-/g, '_')}_token`,
            'api_key',
            'secret',
          ]);
  if (format === 'env') return base.toUpperCase();
  if (format === 'ts' || format === 'js') {
    return base.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  }
  if (format === 'json' && kind === 'aws-secret-access-key') return 'SecretAccessKey';
  return base;
}

/** Lines that hold the secret in the format's syntax, and which line the secret starts on. */
function plantedLines(
  kind: PlantedKind,
  format: Format,
  secret: string,
  rng: Rng,
): { lines: string[]; at: number } {
  const name = nameFor(kind, format, rng);
  if (kind === 'private-key') {
    const pem = secret.split('\n');
    switch (format) {
      case 'json':
        return { lines: [`  "private_key": "${pem.join('\\n')}\\n",`], at: 0 };
      case 'yaml':
        return { lines: ['tls_key: |', ...pem.map((l) => `  ${l}`)], at: 1 };
      case 'env':
        return { lines: [`TLS_KEY="${pem.join('\\n')}"`], at: 0 };
      case 'py':
        return { lines: ['TLS_KEY = """', ...pem, '"""'], at: 1 };
      case 'ts':
      case 'js':
        return { lines: ['const tlsKey = `', ...pem, '`;'], at: 1 };
      default:
        return { lines: pem, at: 0 };
    }
  }
  // Third-party tokens appear bare as often as assigned; the other two need their name.
  const needsName = kind === 'aws-secret-access-key' || kind === 'generic-high-entropy';
  switch (format) {
    case 'ts':
    case 'js':
      if (!needsName && rng() < 0.3) {
        return { lines: [`  headers: { authorization: \`Bearer ${secret}\` },`], at: 0 };
      }
      {
        const quote = pick(rng, ["'", '"']);
        return { lines: [`const ${name} = ${quote}${secret}${quote};`], at: 0 };
      }
    case 'py':
      return rng() < 0.5 && !needsName
        ? { lines: [`client = Client(api_key="${secret}", timeout=30)`], at: 0 }
        : { lines: [`${name.toUpperCase()} = "${secret}"`], at: 0 };
    case 'json':
      return { lines: [`  "${name}": "${secret}",`], at: 0 };
    case 'yaml':
      return { lines: [`  ${name}: ${rng() < 0.5 ? secret : `"${secret}"`}`], at: 0 };
    case 'env':
      return { lines: [`${name}=${secret}`], at: 0 };
    case 'txt':
      return needsName
        ? { lines: [`${name} = ${secret}`], at: 0 }
        : {
            lines: [
              `2025-03-0${Math.floor(rng() * 9) + 1}T10:00:00Z WARN retrying with credential ${secret} (attempt 2)`,
            ],
            at: 0,
          };
    case 'md':
      return needsName
        ? { lines: ['```ini', `${name} = ${secret}`, '```'], at: 1 }
        : { lines: [`Set it up with \`${secret}\` and restart.`], at: 0 };
  }
}

// Noise -------------------------------------------------------------------------------------

const WORDS = (
  'request response handler service client server config options value result error cache ' +
  'token secret password user account project billing invoice order payment customer session ' +
  'limit window retry timeout buffer stream reader writer parser builder factory registry ' +
  'metrics usage audit event queue worker job task schedule verify rotate revoke create update ' +
  'delete list find load save render format encode decode compress hash digest sign key id'
).split(' ');

function identifier(rng: Rng, parts = 2 + Math.floor(rng() * 3)): string {
  const words = Array.from({ length: parts }, () => pick(rng, WORDS));
  return (
    words[0] +
    words
      .slice(1)
      .map((w) => w[0]!.toUpperCase() + w.slice(1))
      .join('')
  );
}

function uuid(rng: Rng): string {
  const h = randomString(rng, 32, HEX);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

/** A keywarden-shaped string whose checksum is wrong: must never be reported. */
export function wrongChecksumKey(rng: Rng): string {
  for (;;) {
    const candidate = `kw_${pick(rng, ['prod', 'dev'])}_${randomString(rng, 36, BASE62_ALPHABET)}`;
    if (!checkKeyFormat(candidate).ok) return candidate;
  }
}

/** Assignments to secret-sounding names that hold no secret: the generic rule's traps. */
function trapLine(rng: Rng, format: Format): string {
  const traps: Record<Format, string[]> = {
    ts: [
      'const token = await getAccessToken(request);',
      "const apiKey = process.env.OPENAI_API_KEY ?? '';",
      'const password: string = options.password;',
      "const secretName = 'prod/billing/database-credentials';",
      'const maxTokens = 4096;',
      "const tokenUrl = 'https://oauth2.example.com/token';",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder, on purpose
      'const apiKey = "${API_KEY}";',
      "const secret = '<your-secret-here>';",
      "const passwordHash = '$2b$12$abcdefghijklmnopqrstuvCDEFGHIJKLMNOPQRSTUVWXYZ01234';",
      `const requestToken = crypto.randomBytes(32).toString('hex');`,
      `const sessionSecret = config.get('session.secret');`,
      `const tokenizer = new Tokenizer({ model: 'cl100k_base' });`,
      `const apiKeyHeader = 'X-Api-Key';`,
      `const githubToken = core.getInput('github-token');`,
    ],
    js: [
      "module.exports = { password: process.env.DB_PASSWORD, user: 'app' };",
      'const secret = "changeme";',
      "const token = req.headers['x-auth-token'];",
      'let apiKey = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";',
      "const clientSecret = '********';",
    ],
    py: [
      'token = os.environ["GITHUB_TOKEN"]',
      'password = getpass.getpass("Password: ")',
      'SECRET_KEY = env("DJANGO_SECRET_KEY")',
      'api_key = settings.OPENAI_API_KEY',
      'max_tokens = 2048',
      'tokenizer = AutoTokenizer.from_pretrained("bert-base-multilingual-uncased")',
    ],
    json: [
      '  "token_type": "bearer",',
      '  "max_tokens": 1024,',
      '  "password": "",',
      '  "api_key": "{{ api_key }}",',
      `  "secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf",`,
      '  "token_endpoint": "https://login.example.com/oauth2/v2.0/token",',
    ],
    yaml: [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder, on purpose
      '  password: ${DB_PASSWORD}',
      '  api_key: <insert-key>',
      '  secret_name: billing-api-credentials-v2',
      '  token_ttl: 3600',
      '  secretKeyRef:',
      '  client_secret: changeme',
    ],
    env: [
      'OPENAI_API_KEY=',
      `STRIPE_SECRET_KEY=${'s'}k_test_xxxxxxxxxxxxxxxxxxxxxxxx`,
      `AWS_ACCESS_KEY_ID=${'AKIA'}IOSFODNN7EXAMPLE`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder, on purpose
      'DB_PASSWORD=${POSTGRES_PASSWORD}',
      'SESSION_SECRET=replace-with-a-long-random-value',
      'TOKEN_URL=https://auth.example.com/oauth/token',
    ],
    txt: [
      'INFO token refreshed for user 4821 (expires in 3600 s)',
      'DEBUG password policy: min length 12, require digit',
      'WARN api_key missing for tenant acme, falling back to anonymous',
    ],
    md: [
      'Set `OPENAI_API_KEY` to your key (it starts with `sk-…`).',
      'Keys look like `kw_prod_…uOupm` in lists and logs.',
      'Pass the token as `Authorization: Bearer <token>`.',
      `export GITHUB_TOKEN=${'gh'}p_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
    ],
  };
  return pick(rng, traps[format]);
}

function noiseLine(rng: Rng, format: Format): string {
  const r = rng();
  if (r < 0.08) return trapLine(rng, format);
  const id = identifier(rng);
  switch (format) {
    case 'ts':
    case 'js':
      return pick(rng, [
        `export function ${id}(${identifier(rng, 1)}: number): string {`,
        `  const ${identifier(rng)} = await this.${identifier(rng)}(${identifier(rng, 1)}, ${Math.floor(rng() * 1000)});`,
        `  if (!${identifier(rng, 1)}) throw new Error('${pick(rng, WORDS)} ${pick(rng, WORDS)} failed');`,
        `  return ${identifier(rng, 1)}.${identifier(rng)}().${identifier(rng, 1)};`,
        `const ${id}Sha256 = '${randomString(rng, 64, HEX)}';`,
        `const ${id}Commit = "${randomString(rng, 40, HEX)}";`,
        `const ${id}Id = '${uuid(rng)}';`,
        `  ${identifier(rng, 5)}_${identifier(rng, 4)}: ${identifier(rng, 6)},`,
        `// ${pick(rng, WORDS)} the ${pick(rng, WORDS)} before the ${pick(rng, WORDS)}`,
        `const shapeOnly = '${wrongChecksumKey(rng)}';`,
        '}',
      ]);
    case 'py':
      return pick(rng, [
        `def ${id.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}(self, ${identifier(rng, 1)}):`,
        `    return self.${identifier(rng, 1)}.get("${pick(rng, WORDS)}", ${Math.floor(rng() * 100)})`,
        `    ${identifier(rng, 1)} = hashlib.sha256(${identifier(rng, 1)}).hexdigest()  # ${randomString(rng, 64, HEX)}`,
        `CHECKSUM = "${randomString(rng, 40, HEX)}"`,
        `REQUEST_ID = "${uuid(rng)}"`,
      ]);
    case 'json':
      return pick(rng, [
        `  "id": "${uuid(rng)}",`,
        `  "sha1": "${randomString(rng, 40, HEX)}",`,
        `  "integrity": "sha512-${randomString(rng, 86, B64)}==",`,
        `  "resolved": "https://registry.npmjs.org/${pick(rng, WORDS)}/-/${pick(rng, WORDS)}-1.${Math.floor(rng() * 20)}.0.tgz",`,
        `  "${identifier(rng)}": ${Math.floor(rng() * 100000)},`,
        `  "thumbnail": "data:image/png;base64,iVBORw0KGgo${randomString(rng, 300, B64)}=",`,
        `  "updatedAt": "2025-0${Math.floor(rng() * 9) + 1}-1${Math.floor(rng() * 9)}T08:${Math.floor(rng() * 50) + 10}:00Z",`,
      ]);
    case 'yaml':
      return pick(rng, [
        `  ${id.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}: ${Math.floor(rng() * 1000)}`,
        `  image: registry.example.com/${pick(rng, WORDS)}@sha256:${randomString(rng, 64, HEX)}`,
        `  - name: ${pick(rng, WORDS)}-${pick(rng, WORDS)}`,
        `    checksum: ${randomString(rng, 64, HEX)}`,
        `  uid: ${uuid(rng)}`,
      ]);
    case 'env':
      return pick(rng, [
        `${id.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}=${Math.floor(rng() * 10000)}`,
        `LOG_LEVEL=${pick(rng, ['info', 'debug', 'warn'])}`,
        `BUILD_SHA=${randomString(rng, 40, HEX)}`,
        `DEPLOY_ID=${uuid(rng)}`,
      ]);
    case 'txt':
      return `2025-03-1${Math.floor(rng() * 9)}T1${Math.floor(rng() * 9)}:00:00Z INFO ${pick(rng, WORDS)} ${pick(rng, WORDS)} request_id=${uuid(rng)} sha=${randomString(rng, 12, HEX)} ${Math.floor(rng() * 900)}ms`;
    case 'md':
      return pick(rng, [
        `The ${pick(rng, WORDS)} ${pick(rng, WORDS)} keeps the ${pick(rng, WORDS)} for each ${pick(rng, WORDS)}.`,
        `| \`${identifier(rng)}\` | ${pick(rng, WORDS)} | ${Math.floor(rng() * 100)} |`,
        `See commit ${randomString(rng, 40, HEX)} for details.`,
        '',
      ]);
  }
}

export interface CorpusFile {
  path: string;
  text: string;
}

export interface PlantedSecret {
  file: string;
  /** 1-based line where the secret starts. */
  line: number;
  kind: PlantedKind;
  secret: string;
}

export interface Corpus {
  files: CorpusFile[];
  planted: PlantedSecret[];
}

/** Extra files of pure noise in formats that matter: lockfiles and base64 blobs. */
function specialNoise(rng: Rng, index: number): CorpusFile {
  if (index % 2 === 0) {
    const entries = Array.from(
      { length: 120 },
      () =>
        `    "node_modules/${pick(rng, WORDS)}-${pick(rng, WORDS)}": {\n      "version": "1.${Math.floor(rng() * 30)}.${Math.floor(rng() * 9)}",\n      "resolved": "https://registry.npmjs.org/x/-/x-1.0.0.tgz",\n      "integrity": "sha512-${randomString(rng, 86, B64)}=="\n    },`,
    );
    return {
      path: `pkg${index}/package-lock.json`,
      text: `{\n  "name": "app",\n  "lockfileVersion": 3,\n  "packages": {\n${entries.join('\n')}\n  }\n}\n`,
    };
  }
  const blob = `iVBORw0KGgoAAAANSUhEUgAA${randomString(rng, 12_000, B64)}`;
  const lines: string[] = [];
  for (let i = 0; i < blob.length; i += 76) lines.push(blob.slice(i, i + 76));
  return { path: `assets${index}/logo.png.b64`, text: `${lines.join('\n')}\n` };
}

export interface CorpusOptions {
  seed?: number;
  /** Approximate total size in bytes. */
  targetBytes: number;
  /** Secrets of each kind to plant; 0 for a noise-only corpus. */
  secretsPerKind?: number;
  /** Approximate size of one file. */
  fileBytes?: number;
}

/**
 * Files of every format, each mostly noise; the planted secrets are spread round-robin over
 * formats so that each kind lands in each format when there are enough of them.
 */
export function generateCorpus(options: CorpusOptions): Corpus {
  const rng = seededRng(options.seed ?? 1);
  const fileBytes = options.fileBytes ?? 16 * 1024;
  const perKind = options.secretsPerKind ?? 0;
  const queue: { kind: PlantedKind; format: Format }[] = [];
  for (let i = 0; i < perKind; i++) {
    for (const kind of PLANTED_KINDS)
      queue.push({ kind, format: FORMATS[(i + queue.length) % FORMATS.length]! });
  }
  const files: CorpusFile[] = [];
  const planted: PlantedSecret[] = [];
  let total = 0;
  let index = 0;
  while (total < options.targetBytes || queue.length > 0) {
    if (index % 10 === 9) {
      const special = specialNoise(rng, index);
      files.push(special);
      total += special.text.length;
      index++;
      continue;
    }
    const format = FORMATS[index % FORMATS.length]!;
    const path = `src${index % 7}/${identifier(rng, 2)}-${index}.${EXTENSION[format]}`;
    const remainingFiles = Math.max(1, Math.ceil((options.targetBytes - total) / fileBytes));
    const here: PlantedKind[] = [];
    const share = Math.ceil(queue.length / remainingFiles);
    for (let i = 0; i < queue.length && here.length < share; ) {
      if (queue[i]!.format === format) {
        here.push(queue[i]!.kind);
        queue.splice(i, 1);
      } else i++;
    }
    const lines: string[] = [];
    let size = 0;
    const plantEvery =
      here.length > 0 ? Math.max(1, Math.floor(fileBytes / 60 / (here.length + 1))) : 0;
    let lineNo = 0;
    while (size < fileBytes || here.length > 0) {
      if (plantEvery > 0 && lineNo > 0 && lineNo % plantEvery === 0 && here.length > 0) {
        const kind = here.shift()!;
        const secret = makeSecret(kind, rng);
        const { lines: block, at } = plantedLines(kind, format, secret, rng);
        planted.push({ file: path, line: lines.length + at + 1, kind, secret });
        lines.push(...block);
        size += block.join('\n').length + 1;
      } else {
        const line = noiseLine(rng, format);
        lines.push(line);
        size += line.length + 1;
      }
      lineNo++;
    }
    const text = `${lines.join('\n')}\n`;
    files.push({ path, text });
    total += text.length;
    index++;
  }
  return { files, planted };
}
