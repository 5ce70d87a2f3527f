import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from './cleanup.ts';
import { type ServerProcess, startServerProcess } from './proc.ts';

/**
 * Starts the servers under test as separate processes, all the same way
 * (`node --import tsx <script>`, cwd at the repo root), so that any difference between them
 * is the code under test, not how it was launched.
 */

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVERS = new URL('../servers/', import.meta.url);

export interface RunningTarget {
  url: string;
  /** For the CPU-per-request figure (cpu.ts). */
  pid: number | undefined;
  stop(): Promise<void>;
}

function profileArgs(profileDir: string | undefined, name: string): string[] {
  // One directory per server: each of its threads writes a profile there (see profile.ts).
  return profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, name)] : [];
}

function nodeArgs(script: string, profileDir: string | undefined, name: string): string[] {
  return [
    '--import',
    'tsx',
    ...profileArgs(profileDir, name),
    fileURLToPath(new URL(script, SERVERS)),
  ];
}

function urlOf(server: ServerProcess, name: string): string {
  const { url } = server.ready;
  if (typeof url !== 'string' || !url.startsWith('http://127.0.0.1:')) {
    throw new Error(`${name}: ready line without a 127.0.0.1 url`);
  }
  return url;
}

/** A server script from bench/servers that needs no arguments (bare-http, bare-fastify). */
export async function startPlain(name: string, profileDir?: string): Promise<RunningTarget> {
  const script = `${name}.ts`;
  const server = await startServerProcess(process.execPath, nodeArgs(script, profileDir, name), {
    cwd: REPO_ROOT,
    name,
  });
  return { url: urlOf(server, name), pid: server.child.pid, stop: server.stop };
}

export interface KeywardenTarget extends RunningTarget {
  /** A valid API key with scope billing:read, env prod. */
  key: string;
  keyId: string;
}

export async function startKeywarden(profileDir?: string): Promise<KeywardenTarget> {
  const { managementKey: _, ...target } = await startKeywardenWith([], profileDir);
  return target;
}

export interface ManagedKeywardenTarget extends KeywardenTarget {
  /** A management key (admin scope), for configuring the server through its API. */
  managementKey: string;
}

/** keywarden with a management key too, for scenarios that set it up as an operator would. */
export async function startManagedKeywarden(profileDir?: string): Promise<ManagedKeywardenTarget> {
  const target = await startKeywardenWith(['--management-key'], profileDir);
  if (target.managementKey === undefined) {
    await target.stop();
    throw new Error('keywarden: ready line without a management key');
  }
  return { ...target, managementKey: target.managementKey };
}

async function startKeywardenWith(
  flags: readonly string[],
  profileDir: string | undefined,
): Promise<KeywardenTarget & { managementKey?: string }> {
  const name = 'keywarden';
  const dataDir = makeTempDir('data');
  const server = await startServerProcess(
    process.execPath,
    [...nodeArgs('keywarden.ts', profileDir, name), dataDir, ...flags],
    { cwd: REPO_ROOT, name },
  );
  const { key, keyId, managementKey } = server.ready;
  if (typeof key !== 'string' || typeof keyId !== 'string') {
    await server.stop();
    throw new Error('keywarden: ready line without a key');
  }
  return {
    url: urlOf(server, name),
    pid: server.child.pid,
    key,
    keyId,
    ...(typeof managementKey === 'string' ? { managementKey } : {}),
    stop: server.stop,
  };
}

/**
 * The mock OpenAI upstream (bench/servers/mock-openai.ts), accepting `apiKey` only, waiting
 * `chunkDelayMs` between streamed chunks.
 */
export async function startMockUpstream(
  apiKey: string,
  chunkDelayMs: number,
  profileDir?: string,
): Promise<RunningTarget> {
  const name = 'mock-openai';
  const server = await startServerProcess(
    process.execPath,
    [...nodeArgs('mock-openai.ts', profileDir, name), apiKey, String(chunkDelayMs)],
    { cwd: REPO_ROOT, name },
  );
  return { url: urlOf(server, name), pid: server.child.pid, stop: server.stop };
}

const require = createRequire(import.meta.url);

export interface PortkeyInstall {
  version: string;
  /** Its server entry point (package.json `bin`: build/start-server.js). */
  entry: string;
}

/** Where `@portkey-ai/gateway` is installed, or null when it is not (a devDependency). */
export function findPortkey(): PortkeyInstall | null {
  let manifest: string;
  try {
    manifest = require.resolve('@portkey-ai/gateway/package.json');
  } catch {
    return null;
  }
  const { version, bin } = require(manifest) as { version: string; bin: string };
  return { version, entry: join(dirname(manifest), bin) };
}

/**
 * The Portkey open-source gateway as published, started like the other servers
 * (`node --import tsx`), with a preload that binds it to 127.0.0.1 and prints the ready line.
 * `--headless` only drops its console UI; `--port=0` lets the OS pick a free port.
 */
export async function startPortkey(
  install: PortkeyInstall,
  profileDir?: string,
): Promise<RunningTarget> {
  const name = 'portkey';
  const preload = fileURLToPath(new URL('portkey-loopback.ts', SERVERS));
  const server = await startServerProcess(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      preload,
      ...profileArgs(profileDir, name),
      install.entry,
      '--port=0',
      '--headless',
    ],
    { cwd: REPO_ROOT, name },
  );
  return { url: urlOf(server, name), pid: server.child.pid, stop: server.stop };
}
