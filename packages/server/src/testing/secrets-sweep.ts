import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { TestRedisClient } from './redis.ts';

/**
 * Everything a node keeps at rest, as searchable text, and a search of it for plaintext
 * secrets: the SQLite files (database, WAL, shared memory), every row of every table of a
 * PostgreSQL database (each row as PostgreSQL prints it, bytea as hex), every Redis key and
 * value under a prefix, and captured log output.
 *
 * A secret is looked for as itself, hex-encoded (how a bytea column or a careless
 * `toString('hex')` holds it), base64 and base64url; a keywarden key also by its long tail (30
 * characters: the random part, enough to identify it), so a truncated copy is found too.
 */
export interface AtRest {
  /** Where the bytes came from: a file name, `postgres <table>`, `redis <key>`, `logs`. */
  where: string;
  text: string;
}

export function sqliteFiles(dataDir: string): AtRest[] {
  return readdirSync(dataDir)
    .map((name) => join(dataDir, name))
    .filter((file) => statSync(file).isFile())
    .map((file) => ({ where: file, text: readFileSync(file).toString('latin1') }));
}

/** Every row of every table in the database's schemas, as text: a pg_dump without the DDL. */
export async function postgresRows(url: string): Promise<AtRest[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ schema: string; name: string }>(
      `select table_schema as schema, table_name as name from information_schema.tables
       where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
    );
    const out: AtRest[] = [];
    for (const { schema, name } of tables.rows) {
      const ident = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
      // `row(x.*)`: the whole row even where a column has the alias's name.
      const rows = await client.query<{ row: string }>(
        `select row(x.*)::text as row from ${ident} as x`,
      );
      out.push({
        where: `postgres ${schema}.${name}`,
        text: rows.rows.map((r) => r.row).join('\n'),
      });
    }
    return out;
  } finally {
    await client.end();
  }
}

/** Every key under the prefix, with its value whatever its type. */
export async function redisEntries(client: TestRedisClient, prefix: string): Promise<AtRest[]> {
  const out: AtRest[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    for (const key of batch) {
      const type = await client.type(key);
      let value: unknown;
      if (type === 'string') value = await client.get(key);
      else if (type === 'hash') value = await client.hGetAll(key);
      else if (type === 'list') value = await client.lRange(key, 0, -1);
      else if (type === 'set') value = await client.sMembers(key);
      else if (type === 'zset') value = await client.zRangeWithScores(key, 0, -1);
      else if (type === 'stream') value = await client.xRange(key, '-', '+');
      out.push({ where: `redis ${key} (${type})`, text: `${key}\n${JSON.stringify(value)}` });
    }
  }
  return out;
}

/** The spellings of a secret that count as the secret being there. */
export function spellings(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms = [
    secret,
    bytes.toString('hex'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
  ];
  // A keywarden key: its random part and checksum identify it on their own.
  if (/^[a-z][a-z0-9]*_[a-z]+_[0-9A-Za-z]{36}$/.test(secret)) forms.push(secret.slice(-30));
  return forms;
}

export interface Hit {
  secret: string;
  form: string;
  where: string;
  context: string;
}

/** Every place a secret is found, with a little context (the secret itself masked). */
export function findSecrets(secrets: Iterable<string>, sources: AtRest[]): Hit[] {
  const hits: Hit[] = [];
  for (const secret of new Set(secrets)) {
    for (const form of spellings(secret)) {
      for (const { where, text } of sources) {
        // Every occurrence (up to 20 per place): one secret may leak through several fields.
        for (
          let at = text.indexOf(form), n = 0;
          at >= 0 && n < 20;
          at = text.indexOf(form, at + 1), n++
        ) {
          const context = text
            .slice(Math.max(0, at - 60), at + form.length + 60)
            .replace(form, '<SECRET>')
            .replace(/[^\x20-\x7e]/g, '.');
          hits.push({
            secret: `${secret.slice(0, 10)}…`,
            form: form === secret ? 'plaintext' : form.length === 30 ? 'key tail' : 'encoded',
            where,
            context,
          });
        }
      }
    }
  }
  return hits;
}

const KEY_LIKE = /\b[a-z][a-z0-9]{1,11}_[a-z]{2,10}_[0-9A-Za-z]{36}\b/g;

/** Every keywarden-shaped key in a value (an answer's JSON): what a write minted. */
export function keysIn(value: unknown): string[] {
  return [...JSON.stringify(value ?? null).matchAll(KEY_LIKE)].map((m) => m[0]);
}
