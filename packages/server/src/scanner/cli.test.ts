import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { displayKey, generateKey } from '@keywarden/core';
import { startTestNode, type TestNode } from '../testing/harness.ts';
import { HOOK_MARKER } from './hook.ts';
import { git, initRepo, tempDir, writeTree } from './testing/io.ts';

/**
 * The commander wiring, through the real binary: options, exit codes, stdin, and the
 * pre-commit hook refusing a real `git commit`. Everything else is tested in-process.
 */

const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; stdin?: string },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, KEYWARDEN_ADMIN_KEY: '', ...options.env },
      // No stdin at all unless the test pipes some: an open pipe would be read as input.
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr!.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
}

const keywarden = (args: string[], options: Parameters<typeof run>[2]) =>
  run(process.execPath, [BIN, 'scan', ...args], options);

const dirs: string[] = [];
function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('keywarden scan (binary)', () => {
  let node: TestNode;
  let url = '';
  before(async () => {
    node = await startTestNode();
    await node.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(node.app.server.address() as AddressInfo).port}`;
  });
  after(() => node.close());

  it('exits 1 with a SARIF report when it finds something, 0 when clean', async () => {
    const root = dir('cli');
    const key = generateKey({ prefix: 'kw', env: 'prod' });
    writeTree(root, { 'found/a.ts': `const k = '${key}';\n`, 'clean/b.ts': 'const x = 1;\n' });
    const found = await keywarden(['found', '--format', 'sarif'], { cwd: root });
    assert.equal(found.code, 1, found.stderr);
    const sarif = JSON.parse(found.stdout);
    assert.equal(sarif.version, '2.1.0');
    assert.equal(
      sarif.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri,
      'found/a.ts',
    );
    assert.equal(found.stdout.includes(key), false);
    assert.match(found.stderr, /1 finding/);

    const clean = await keywarden(['clean'], { cwd: root });
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal(clean.stdout, 'No secrets found.\n');
  });

  it('exits 2 on usage errors', async () => {
    const root = dir('usage');
    // Commander's own (a bad choice), the command's (exclusive options), the scan's (no such
    // path); the rest of the usage errors are tested in-process.
    for (const args of [['--format', 'xml'], ['--git', '--staged'], ['missing-path']]) {
      const result = await keywarden(args, { cwd: root });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    }
    // Asked to revoke with nobody to confirm and no --yes: refused before scanning.
    const revoke = await keywarden(['--revoke', '.'], {
      cwd: root,
      env: { KEYWARDEN_ADMIN_KEY: 'placeholder', KEYWARDEN_URL: url },
    });
    assert.equal(revoke.code, 2);
    assert.match(revoke.stderr, /--yes/);
  });

  it('reads piped stdin when no path is given, and checks keys with --check', async () => {
    const { key, id } = await node.createKey({ name: 'leaky' });
    const result = await keywarden(['--check', '--json'], {
      cwd: dir('stdin'),
      stdin: `export KEY=${key}\n`,
      env: { KEYWARDEN_URL: url, KEYWARDEN_ADMIN_KEY: node.adminKey },
    });
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.deepEqual(
      report.findings.map((f: Record<string, unknown>) => [f.file, f.line, f.redacted, f.check]),
      [['stdin', 1, displayKey(key), { status: 'live', code: 'VALID', keyId: id }]],
    );
    assert.equal(result.stdout.includes(key), false);
  });
});

describe('keywarden scan --install-hook', () => {
  it('installs a pre-commit hook that refuses a commit holding a key', async () => {
    const repo = dir('hook');
    initRepo(repo);
    const install = await keywarden(['--install-hook'], { cwd: repo });
    assert.equal(install.code, 0, install.stderr);
    const hook = join(repo, '.git', 'hooks', 'pre-commit');
    assert.ok(readFileSync(hook, 'utf8').includes(HOOK_MARKER));
    assert.equal(statSync(hook).mode & 0o111, 0o111);

    const key = generateKey({ prefix: 'kw', env: 'prod' });
    writeTree(repo, { 'config.env': `KEYWARDEN_KEY=${key}\n` });
    git(repo, 'add', 'config.env');
    const refused = await run('git', ['commit', '-m', 'add config'], { cwd: repo });
    assert.notEqual(refused.code, 0, 'the hook let a key through');
    assert.match(refused.stdout + refused.stderr, /config\.env:1/);
    assert.equal((refused.stdout + refused.stderr).includes(key), false);
    assert.throws(() => git(repo, 'rev-parse', '--verify', 'HEAD'), 'no commit was made');

    // The same line, marked as accepted, goes through.
    writeTree(repo, { 'config.env': `KEYWARDEN_KEY=${key} # keywarden:allow\n` });
    git(repo, 'add', 'config.env');
    const allowed = await run('git', ['commit', '-qm', 'add config'], { cwd: repo });
    assert.equal(allowed.code, 0, allowed.stderr);
  });

  it('respects core.hooksPath and never replaces a foreign hook without --force', async () => {
    const repo = dir('hookpath');
    initRepo(repo);
    git(repo, 'config', 'core.hooksPath', '.githooks');
    writeTree(repo, { '.githooks/pre-commit': '#!/bin/sh\necho mine\n' });
    const refused = await keywarden(['--install-hook'], { cwd: repo });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--force/);
    assert.equal(
      readFileSync(join(repo, '.githooks/pre-commit'), 'utf8'),
      '#!/bin/sh\necho mine\n',
    );

    const forced = await keywarden(['--install-hook', '--force'], { cwd: repo });
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(readFileSync(join(repo, '.githooks/pre-commit'), 'utf8').includes(HOOK_MARKER));
    assert.equal(existsSync(join(repo, '.git/hooks/pre-commit')), false);
    // Ours is replaced without --force.
    writeFileSync(join(repo, 'x'), '');
    const again = await keywarden(['--install-hook'], { cwd: repo });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /replaced/);
  });
});
