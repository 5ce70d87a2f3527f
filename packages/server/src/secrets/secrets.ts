import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Server secrets that must never live in the database: the pepper(s) that key the key hash,
 * and the master key that encrypts upstream secrets. A stolen database alone lets nobody
 * test guesses against the hashes or decrypt provider keys.
 *
 * Embedded mode generates them into `<dataDir>/secrets.json` (mode 0600) on first start.
 * Cluster mode takes them from KEYWARDEN_PEPPER / KEYWARDEN_MASTER_KEY or a file named by
 * KEYWARDEN_SECRETS_FILE, and refuses to start without them, since each node generating
 * its own would make keys verify on one node only.
 */
export interface ServerSecrets {
  /** Pepper versions; the highest is the one new hashes use. */
  peppers: ReadonlyMap<number, Buffer>;
  currentPepperVersion: number;
  masterKey: Buffer;
}

interface SecretsFile {
  peppers: Array<{ version: number; secret: string }>;
  masterKey: string;
}

const SECRET_BYTES = 32;

export function decodeSecret(name: string, base64: string): Buffer {
  const bytes = Buffer.from(base64.trim(), 'base64');
  if (bytes.length !== SECRET_BYTES) {
    throw new Error(`${name} must be ${SECRET_BYTES} random bytes in base64 (got ${bytes.length})`);
  }
  return bytes;
}

/** `KEYWARDEN_PEPPER` is either one base64 secret (version 1) or `2:<b64>,1:<b64>`. */
export function parsePepperList(name: string, text: string): Map<number, Buffer> {
  const peppers = new Map<number, Buffer>();
  for (const part of text.split(',')) {
    const match = /^\s*(?:(\d+):)?(.+)$/.exec(part);
    if (!match?.[2]) throw new Error(`${name} has an empty entry`);
    const version = match[1] ? Number(match[1]) : 1;
    if (!Number.isSafeInteger(version) || version < 1) throw new Error(`${name}: bad version`);
    peppers.set(version, decodeSecret(name, match[2]));
  }
  return peppers;
}

function fromFile(file: SecretsFile, source: string): ServerSecrets {
  if (!Array.isArray(file.peppers) || file.peppers.length === 0 || !file.masterKey) {
    throw new Error(`${source} must hold "peppers" and "masterKey"`);
  }
  const peppers = new Map<number, Buffer>();
  for (const p of file.peppers) peppers.set(p.version, decodeSecret(`${source} pepper`, p.secret));
  return finish(peppers, decodeSecret(`${source} masterKey`, file.masterKey));
}

function finish(peppers: Map<number, Buffer>, masterKey: Buffer): ServerSecrets {
  return { peppers, currentPepperVersion: Math.max(...peppers.keys()), masterKey };
}

function readSecretsFile(path: string): ServerSecrets {
  return fromFile(JSON.parse(readFileSync(path, 'utf8')) as SecretsFile, path);
}

export interface LoadSecretsOptions {
  env: NodeJS.ProcessEnv;
  /** Embedded mode: where to find or generate secrets.json. Undefined in cluster mode. */
  dataDir?: string;
}

export function loadSecrets({ env, dataDir }: LoadSecretsOptions): ServerSecrets {
  if (env.KEYWARDEN_SECRETS_FILE) return readSecretsFile(env.KEYWARDEN_SECRETS_FILE);
  if (env.KEYWARDEN_PEPPER || env.KEYWARDEN_MASTER_KEY) {
    if (!env.KEYWARDEN_PEPPER || !env.KEYWARDEN_MASTER_KEY) {
      throw new Error('KEYWARDEN_PEPPER and KEYWARDEN_MASTER_KEY must be set together');
    }
    return finish(
      parsePepperList('KEYWARDEN_PEPPER', env.KEYWARDEN_PEPPER),
      decodeSecret('KEYWARDEN_MASTER_KEY', env.KEYWARDEN_MASTER_KEY),
    );
  }
  if (!dataDir) {
    throw new Error(
      'cluster mode needs KEYWARDEN_PEPPER and KEYWARDEN_MASTER_KEY (or KEYWARDEN_SECRETS_FILE): ' +
        'every node must share them',
    );
  }
  const path = join(dataDir, 'secrets.json');
  if (existsSync(path)) return readSecretsFile(path);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file: SecretsFile = {
    peppers: [{ version: 1, secret: randomBytes(SECRET_BYTES).toString('base64') }],
    masterKey: randomBytes(SECRET_BYTES).toString('base64'),
  };
  // 'wx' fails if another process created the file in the meantime: never overwrite a pepper.
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return fromFile(file, path);
}
