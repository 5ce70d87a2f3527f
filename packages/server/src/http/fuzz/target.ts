import { generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_ACTOR } from '../../audit/index.ts';
import { type MockOpenAI, startMockOpenAI } from '../../gateway/testing/mock-openai.ts';
import { startTestNode, type TestNode } from '../../testing/harness.ts';

/**
 * What the fuzz suite attacks: a keywarden node listening on loopback (trusted proxies on or
 * off), an OpenAI-type upstream on the OpenAI mock and a generic upstream on an echo server
 * (both loopback), the GitHub secret-scanning keyring, and pools of real ids for the path
 * parameters. Pools are sacrificial: the fuzz may revoke, delete or rotate them. The keys the
 * suite's own checks use are made fresh when needed, since a bulk revoke may take any key.
 */
export interface FuzzTarget {
  node: TestNode;
  base: string;
  mode: 'trusted proxies off' | 'trusted proxies on';
  adminKey: string;
  /** Management keys with less than admin: forbidden on most routes. */
  readOnlyManagementKey: string;
  pools: {
    keys: string[];
    projects: string[];
    owners: string[];
    managementKeys: string[];
    upstreams: string[];
  };
  /** Plaintext keys that no answer may ever echo. */
  secrets: string[];
  github: { keyId: string; sign(body: Buffer): string };
  /** A fresh key with these scopes (in the default project, no limits). */
  freshKey(scopes: string[], extra?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** The echo server behind the generic upstream: always 200, marked so its answers are known. */
async function startEcho(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': 'echo' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function githubKeyring(): { file: string; dir: string; keyId: string; privateKey: KeyObject } {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const dir = mkdtempSync(join(tmpdir(), 'kw-fuzz-gh-'));
  const file = join(dir, 'github-keys.json');
  const keyId = randomUUID().replaceAll('-', '');
  const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  writeFileSync(
    file,
    JSON.stringify({ public_keys: [{ key_identifier: keyId, key: pem, is_current: true }] }),
  );
  return { file, dir, keyId, privateKey: pair.privateKey };
}

export const QUERY_PROJECT = 'fz-query';

export async function startFuzzTarget(trustedProxies: boolean): Promise<FuzzTarget> {
  const openaiSecret = `sk-test-${randomUUID()}`;
  const genericSecret = `svc-${randomUUID()}`;
  const mock: MockOpenAI = await startMockOpenAI({ apiKey: openaiSecret });
  const echo = await startEcho();
  const gh = githubKeyring();
  const node = await startTestNode({
    env: {
      KEYWARDEN_GITHUB_KEYS_FILE: gh.file,
      KEYWARDEN_GITHUB_KEYS_URL: 'off',
      ...(trustedProxies ? { KEYWARDEN_TRUSTED_PROXIES: '127.0.0.1/8,::1' } : {}),
    },
  });
  const base = await node.app.listen({ host: '127.0.0.1', port: 0 });
  const must = async (method: string, url: string, payload?: unknown) => {
    const res = await node.request({ method: method as 'POST', url, payload: payload as object });
    if (res.statusCode >= 300)
      throw new Error(`fuzz setup: ${method} ${url} → ${res.statusCode} ${res.body}`);
    return res.json() as Record<string, unknown>;
  };

  await must('POST', '/v1/upstreams', {
    name: 'openai',
    type: 'openai',
    baseUrl: mock.url,
    secret: openaiSecret,
    prices: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } },
  });
  await must('POST', '/v1/upstreams', {
    name: 'generic',
    type: 'http',
    baseUrl: `${echo.url}/api`,
    secret: genericSecret,
    authHeader: 'x-service-token',
    authScheme: null,
    routes: [
      { method: 'GET', path: '/admin/**', scope: 'admin' },
      { method: '*', path: '/**', scope: 'read' },
    ],
  });

  const pools: FuzzTarget['pools'] = {
    keys: [],
    projects: [],
    owners: [],
    managementKeys: [],
    upstreams: [],
  };
  const secrets: string[] = [node.adminKey, openaiSecret, genericSecret];
  // Outside the pools (the fuzz may delete those): the project of the `api_key` probe key.
  await must('POST', '/v1/projects', { name: QUERY_PROJECT, prefix: 'fzq', allowQueryKey: true });
  for (let i = 0; i < 3; i++) {
    const name = `fz-p${i}`;
    await must('POST', '/v1/projects', { name, prefix: `fz${i}`, allowQueryKey: i === 0 });
    pools.projects.push(name);
  }
  for (let i = 0; i < 3; i++) pools.owners.push(`owner-${i}`);
  await must('PUT', '/v1/owners/owner-0', { credits: { remaining: 1000 } });
  for (let i = 0; i < 12; i++) {
    const { id, key } = await node.createKey({
      name: `pool ${i}`,
      scopes: i % 2 ? ['read'] : ['write', 'openai:write'],
      ownerId: pools.owners[i % 3] ?? null,
      ...(i % 4 === 0 ? { project: pools.projects[i % 3] } : {}),
    });
    pools.keys.push(id);
    secrets.push(key);
  }
  for (let i = 0; i < 4; i++) {
    const created = await node.kw.keys.create(
      { name: `fuzz mgmt ${i}`, scopes: ['keys:read'] },
      CLI_ACTOR,
      'management',
    );
    pools.managementKeys.push(created.record.id);
    secrets.push(created.plaintext);
  }
  for (let i = 0; i < 3; i++) {
    const up = await must('POST', '/v1/upstreams', {
      name: `fz-up${i}`,
      type: i ? 'http' : 'openai',
      baseUrl: `${echo.url}/pool${i}`,
      secret: `svc-${randomUUID()}`,
    });
    pools.upstreams.push(String(i % 2 ? up.id : up.name));
  }
  const readOnlyManagementKey = await node.managementKey(['keys:read']);
  secrets.push(readOnlyManagementKey);

  const target: FuzzTarget = {
    node,
    base,
    mode: trustedProxies ? 'trusted proxies on' : 'trusted proxies off',
    adminKey: node.adminKey,
    readOnlyManagementKey,
    pools,
    secrets,
    github: {
      keyId: gh.keyId,
      sign: (body) => sign('sha256', body, gh.privateKey).toString('base64'),
    },
    async freshKey(scopes, extra = {}) {
      const { key } = await node.createKey({
        name: 'fuzz probe',
        scopes,
        ratelimits: [],
        ...extra,
      });
      secrets.push(key);
      return key;
    },
    async close() {
      await node.close();
      await mock.close();
      await new Promise<void>((resolve) => echo.server.close(() => resolve()));
      echo.server.closeAllConnections();
      rmSync(gh.dir, { recursive: true, force: true });
    },
  };
  return target;
}
