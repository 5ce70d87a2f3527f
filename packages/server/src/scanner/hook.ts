import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { gitTopLevel, runGit } from './sources/git.ts';

/**
 * `--install-hook`: a pre-commit hook that runs `keywarden scan --staged`, so that a commit
 * holding a secret is refused before it exists. It goes where git looks for hooks
 * (`core.hooksPath` if set, else `.git/hooks`), and never replaces a hook it did not write.
 */

/** Identifies hooks we wrote, so that re-installing replaces them and nothing else. */
export const HOOK_MARKER = '# keywarden-pre-commit-hook';

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The hook script. It prefers the keywarden that installed it (the same node and bin, by
 * absolute path), and falls back to `keywarden` on the PATH if those have moved.
 */
export function hookScript(options: {
  node: string;
  bin: string;
  args: readonly string[];
}): string {
  const args = ['scan', '--staged', ...options.args].map(shellQuote).join(' ');
  return [
    '#!/bin/sh',
    HOOK_MARKER,
    '# Installed by `keywarden scan --install-hook`: refuses a commit whose staged files hold a',
    '# secret. Mark a line that is not one with `keywarden:allow`, or accept findings with a',
    '# baseline (`keywarden scan --write-baseline FILE`).',
    `KEYWARDEN_NODE=${shellQuote(options.node)}`,
    `KEYWARDEN_BIN=${shellQuote(options.bin)}`,
    'if [ -x "$KEYWARDEN_NODE" ] && [ -f "$KEYWARDEN_BIN" ]; then',
    `  exec "$KEYWARDEN_NODE" "$KEYWARDEN_BIN" ${args}`,
    'fi',
    `exec keywarden ${args}`,
    '',
  ].join('\n');
}

export class HookConflict extends Error {}

export async function installPreCommitHook(options: {
  cwd: string;
  script: string;
  force?: boolean;
}): Promise<{ path: string; replaced: boolean }> {
  const root = await gitTopLevel(options.cwd);
  // `--git-path hooks` honours core.hooksPath (relative to the top level) and worktrees.
  const hooks = (await runGit(['rev-parse', '--git-path', 'hooks'], root)).toString('utf8').trim();
  const dir = isAbsolute(hooks) ? hooks : join(root, hooks);
  const path = join(dir, 'pre-commit');
  let replaced = false;
  if (existsSync(path)) {
    const existing = readFileSync(path, 'utf8');
    if (!existing.includes(HOOK_MARKER) && !options.force) {
      throw new HookConflict(
        `${path} exists and was not written by keywarden; add \`keywarden scan --staged\` to it yourself, or pass --force to replace it`,
      );
    }
    replaced = true;
  }
  await mkdir(dir, { recursive: true });
  await writeFile(path, options.script, { mode: 0o755 });
  await chmod(path, 0o755);
  return { path, replaced };
}
