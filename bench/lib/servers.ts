import { join } from 'node:path';
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

function nodeArgs(script: string, profileDir: string | undefined, name: string): string[] {
  // One directory per server: each of its threads writes a profile there (see profile.ts).
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, name)] : [];
  return ['--import', 'tsx', ...profile, fileURLToPath(new URL(script, SERVERS))];
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
  const name = 'keywarden';
  const dataDir = makeTempDir('data');
  const server = await startServerProcess(
    process.execPath,
    [...nodeArgs('keywarden.ts', profileDir, name), dataDir],
    { cwd: REPO_ROOT, name },
  );
  const { key, keyId } = server.ready;
  if (typeof key !== 'string' || typeof keyId !== 'string') {
    await server.stop();
    throw new Error('keywarden: ready line without a key');
  }
  return { url: urlOf(server, name), pid: server.child.pid, key, keyId, stop: server.stop };
}
