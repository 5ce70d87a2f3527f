import { spawn } from 'node:child_process';

/** Runs git and returns its stdout; fails with git's own message. Output over `maxBytes` is an error. */
export function runGit(
  args: readonly string[],
  cwd: string,
  options: { maxBytes?: number; input?: string } = {},
): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  return new Promise((resolvePromise, reject) => {
    const input = options.input;
    const child = spawn('git', args, {
      cwd,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let tooLarge = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        child.kill();
        return;
      }
      chunks.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', (error) => reject(new Error(`cannot run git: ${error.message}`)));
    child.on('close', (code) => {
      if (tooLarge) reject(new GitOutputTooLarge(maxBytes));
      else if (code === 0) resolvePromise(Buffer.concat(chunks));
      else reject(new Error(`git ${args[0]}: ${stderr.trim() || `exit code ${code}`}`));
    });
    if (input !== undefined && child.stdin) {
      // git may exit before reading all of it; its exit code tells what happened.
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    }
  });
}

export class GitOutputTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`git output over ${maxBytes} bytes`);
  }
}

export async function gitTopLevel(cwd: string): Promise<string> {
  try {
    return (await runGit(['rev-parse', '--show-toplevel'], cwd)).toString('utf8').trim();
  } catch {
    throw new Error(`${cwd} is not inside a git work tree`);
  }
}

/**
 * Where to run git for the whole history: the work tree's top level, or the repository itself
 * when it is bare (a mirror on a server has no work tree, but has the history).
 */
export async function gitRepositoryRoot(cwd: string): Promise<string> {
  try {
    return await gitTopLevel(cwd);
  } catch (error) {
    try {
      const bare = (await runGit(['rev-parse', '--is-bare-repository'], cwd)).toString('utf8');
      if (bare.trim() === 'true') return cwd;
    } catch {
      // Not a repository at all: the first error says so.
    }
    throw error;
  }
}
