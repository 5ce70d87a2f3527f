import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { checkKeyFormat, generateKey } from '@keywarden/core';
import { openKeywarden } from '../app/index.ts';
import { loadConfig } from '../config/index.ts';

const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));
const run = promisify(execFile);

interface CliResult {
  stdout: string;
  stderr: string;
  code: number;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, KEYWARDEN_ADMIN_KEY: '', ...env },
      timeout: 30_000,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

/** The same, with `input` written to the command's stdin. */
async function cliWithStdin(
  args: string[],
  env: Record<string, string>,
  input: string,
): Promise<CliResult> {
  const running = run(process.execPath, [BIN, ...args], {
    env: { ...process.env, KEYWARDEN_ADMIN_KEY: '', ...env },
    timeout: 30_000,
  });
  running.child.stdin?.end(input);
  try {
    const { stdout, stderr } = await running;
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe('keywarden CLI, end to end against a started server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kw-cli-'));
  let server: ChildProcess;
  let url = '';
  let adminKey = '';
  let output = '';
  let errors = '';

  before(async () => {
    server = spawn(process.execPath, [BIN, 'start', '--port', '0', '--data', dataDir], {
      env: { ...process.env, KEYWARDEN_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout?.on('data', (chunk) => {
      output += String(chunk);
    });
    server.stderr?.on('data', (chunk) => {
      errors += String(chunk);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server did not start:\n${output}${errors}`)),
        20_000,
      );
      server.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`server exited:\n${output}${errors}`));
      });
      const check = () => {
        const listening = /"url":"(http:\/\/[^"]+)".*"msg":"keywarden listening"/.exec(output);
        if (listening?.[1]) {
          clearTimeout(timer);
          url = listening[1];
          resolve();
        } else setTimeout(check, 50);
      };
      check();
    });
    adminKey = /^(kwadmin_mgmt_[0-9A-Za-z]{36})$/m.exec(output)?.[1] ?? '';
  });

  after(async () => {
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = () => ({ KEYWARDEN_URL: url, KEYWARDEN_ADMIN_KEY: adminKey });

  test('start on an empty store prints one management key, once, and never logs it', async () => {
    assert.equal(checkKeyFormat(adminKey).ok, true);
    assert.equal(output.split(adminKey).length - 1, 1);
    const box = errors.split('\n').filter((line) => /^ +[┌│└]/.test(line));
    assert.equal(box.length, 5, errors);
    assert.equal(
      new Set(box.map((line) => line.length)).size,
      1,
      `a box that fits:\n${box.join('\n')}`,
    );
  });

  test('keys create prints the key once; list, show, update and revoke work with --json', async () => {
    const created = await cli(
      [
        'keys',
        'create',
        '--name',
        'cli key',
        '--env',
        'prod',
        '--scopes',
        'billing:read',
        'orders:write',
        '--json',
      ],
      env(),
    );
    assert.equal(created.code, 0, created.stderr);
    const key = JSON.parse(created.stdout);
    assert.equal(checkKeyFormat(key.key).ok, true);
    assert.deepEqual(key.scopes, ['billing:read', 'orders:write']);

    const human = await cli(['keys', 'create', '--name', 'plain'], env());
    assert.equal(human.code, 0);
    assert.equal(checkKeyFormat(human.stdout.trim()).ok, true, 'stdout is exactly the key');
    assert.match(human.stderr, /shown once/);

    const list = JSON.parse((await cli(['keys', 'list', '--env', 'prod', '--json'], env())).stdout);
    assert.deepEqual(
      list.data.map((k: { id: string }) => k.id),
      [key.id],
    );
    const table = await cli(['keys', 'list'], env());
    assert.match(table.stdout, new RegExp(key.id));
    assert.ok(!table.stdout.includes(key.key));

    const shown = JSON.parse((await cli(['keys', 'show', key.id, '--json'], env())).stdout);
    assert.equal(shown.key, undefined);
    const updated = JSON.parse(
      (await cli(['keys', 'update', key.id, '--scopes', 'billing:write', '--json'], env())).stdout,
    );
    assert.deepEqual(updated.scopes, ['billing:write']);
    const revoked = await cli(['keys', 'revoke', key.id], env());
    assert.match(revoked.stdout, /is now revoked/);

    const auth = await fetch(`${url}/v1/auth`, { headers: { 'x-api-key': key.key } });
    assert.equal(auth.status, 401);
  });

  test('keys rotate prints the new key; bulk-revoke --dry-run lists; owners set; usage shows the calls', async () => {
    const created = JSON.parse(
      (await cli(['keys', 'create', '--name', 'to-rotate', '--owner', 'cli-team', '--json'], env()))
        .stdout,
    );
    const rotated = await cli(
      ['keys', 'rotate', created.id, '--grace', '60', '--idempotency-key', 'r1'],
      env(),
    );
    assert.equal(rotated.code, 0, rotated.stderr);
    const newKey = rotated.stdout.trim();
    assert.equal(checkKeyFormat(newKey).ok, true);
    const again = await cli(
      ['keys', 'rotate', created.id, '--grace', '60', '--idempotency-key', 'r1'],
      env(),
    );
    assert.equal(again.stdout.trim(), newKey, 'a retried rotation prints the same key');
    assert.equal((await fetch(`${url}/v1/auth`, { headers: { 'x-api-key': newKey } })).status, 200);

    const dry = JSON.parse(
      (await cli(['keys', 'bulk-revoke', '--owner', 'cli-team', '--dry-run', '--json'], env()))
        .stdout,
    );
    assert.equal(dry.count, 2);
    const refused = await cli(['keys', 'bulk-revoke', '--owner', 'cli-team'], env());
    assert.equal(refused.code, 2, 'no terminal and no --yes: refuse');
    assert.equal((await fetch(`${url}/v1/auth`, { headers: { 'x-api-key': newKey } })).status, 200);

    const owner = JSON.parse(
      (
        await cli(
          [
            'owners',
            'set',
            'cli-team',
            '--limit',
            'requests=100/60',
            '--credits',
            '50',
            '--refill',
            '50/86400/reset',
            '--json',
          ],
          env(),
        )
      ).stdout,
    );
    assert.deepEqual(owner.ratelimits, [{ name: 'requests', limit: 100, windowSeconds: 60 }]);
    assert.equal(owner.credits.remaining, 50);

    const usage = await cli(['usage', '--granularity', 'hour', '--json'], env());
    assert.equal(usage.code, 0, usage.stderr);
    const report = JSON.parse(usage.stdout);
    assert.ok(report.data.reduce((n: number, b: { count: number }) => n + b.count, 0) >= 2);
  });

  test('projects create and list', async () => {
    const created = await cli(
      [
        'projects',
        'create',
        '--name',
        'shop',
        '--prefix',
        'shop',
        '--environments',
        'test',
        'live',
        '--json',
      ],
      env(),
    );
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(JSON.parse(created.stdout).environments, ['test', 'live']);
    const list = JSON.parse((await cli(['projects', 'list', '--json'], env())).stdout);
    assert.deepEqual(list.data.map((p: { name: string }) => p.name).sort(), ['default', 'shop']);
  });

  test('the management key comes from the environment or a key file, never from an argument', async () => {
    const none = await cli(['keys', 'list'], { KEYWARDEN_URL: url });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /KEYWARDEN_ADMIN_KEY or pass --key-file/);
    const asArgument = await cli(['keys', 'list', '--key', adminKey], { KEYWARDEN_URL: url });
    assert.notEqual(asArgument.code, 0);
    assert.ok(!asArgument.stderr.includes(adminKey), 'the rejected argument is not echoed');

    const file = join(dataDir, 'admin.key');
    writeFileSync(file, `${adminKey}\n`, { mode: 0o600 });
    const viaFile = await cli(['keys', 'list', '--json', '--key-file', file], {
      KEYWARDEN_URL: url,
    });
    assert.equal(viaFile.code, 0, viaFile.stderr);
  });

  test('errors from the server are printed as code and detail, with a non-zero exit', async () => {
    const res = await cli(['keys', 'create', '--name', 'x', '--scopes', 'bad:scope'], env());
    assert.equal(res.code, 1);
    assert.match(res.stderr, /VALIDATION_FAILED: \/scopes\/0/);
    const wrong = await cli(['keys', 'list'], {
      KEYWARDEN_URL: url,
      KEYWARDEN_ADMIN_KEY: 'kwadmin_mgmt_x',
    });
    assert.match(wrong.stderr, /MALFORMED/);
  });

  test('admin-key create works on the store directly, and the new key works on the server', async () => {
    const res = await cli([
      'admin-key',
      'create',
      '--name',
      'ops',
      '--scopes',
      'keys:read',
      '--data',
      dataDir,
      '--json',
    ]);
    assert.equal(res.code, 0, res.stderr);
    const created = JSON.parse(res.stdout);
    assert.deepEqual(created.scopes, ['keys:read']);
    const list = await cli(['keys', 'list', '--json'], {
      KEYWARDEN_URL: url,
      KEYWARDEN_ADMIN_KEY: created.key,
    });
    assert.equal(list.code, 0, list.stderr);
    const write = await cli(['keys', 'create', '--name', 'x'], {
      KEYWARDEN_URL: url,
      KEYWARDEN_ADMIN_KEY: created.key,
    });
    assert.match(write.stderr, /INSUFFICIENT_SCOPE/);
  });

  test('audit list shows the actions, and audit verify finds the chain intact', async () => {
    const list = JSON.parse(
      (await cli(['audit', 'list', '--json', '--action', 'key.revoke'], env())).stdout,
    );
    assert.equal(list.data.length, 1);
    const verify = await cli(['audit', 'verify', '--data', dataDir, '--json']);
    assert.equal(verify.code, 0, verify.stderr);
    const result = JSON.parse(verify.stdout);
    assert.equal(result.ok, true);
    assert.ok(result.entries >= 5);
  });

  test('upstreams: create, show, list, rotate the secret, rename, delete; the secret never shows', async () => {
    const secret = `sk-test-${randomUUID()}`;
    const created = await cli(
      [
        'upstreams',
        'create',
        '--name',
        'things',
        '--type',
        'http',
        '--base-url',
        // An address, not a name: a name would be looked up (the host policy), and no test
        // sends traffic off this host.
        'https://192.0.2.10/api/',
        '--secret-env',
        'THINGS_SECRET',
        '--auth-header',
        'X-Api-Key',
        '--no-auth-scheme',
        '--env',
        'prod',
        '--env',
        'staging',
        '--route',
        'POST /v1/things/** things:write',
        '--route',
        'get /v1/things/* things:read',
        '--price',
        'gpt-4o=2.5,10',
        '--connect-timeout',
        '1500',
        '--json',
      ],
      { ...env(), THINGS_SECRET: secret },
    );
    assert.equal(created.code, 0, created.stderr);
    const upstream = JSON.parse(created.stdout);
    assert.equal(upstream.baseUrl, 'https://192.0.2.10/api');
    assert.equal(upstream.hasSecret, true);
    assert.equal(upstream.secretHint, `…${secret.slice(-4)}`);
    assert.equal(upstream.authHeader, 'x-api-key');
    assert.equal(upstream.authScheme, null);
    assert.deepEqual(upstream.environments, ['prod', 'staging']);
    assert.deepEqual(upstream.routes, [
      { method: 'POST', path: '/v1/things/**', scope: 'things:write' },
      { method: 'GET', path: '/v1/things/*', scope: 'things:read' },
    ]);
    assert.deepEqual(upstream.prices, { 'gpt-4o': { input: 2.5, output: 10 } });
    assert.equal(upstream.timeouts.connectMs, 1500);

    const shown = await cli(['upstreams', 'show', 'things'], env());
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /hasSecret\s+true/);
    const listed = JSON.parse((await cli(['upstreams', 'list', '--json'], env())).stdout);
    assert.deepEqual(
      listed.data.map((u: { name: string }) => u.name),
      ['things'],
    );

    // Rotation: from stdin (one trailing newline dropped), then from a file.
    const second = `sk-test-${randomUUID()}`;
    const viaStdin = await cliWithStdin(
      ['upstreams', 'update', 'things', '--secret-stdin', '--json'],
      env(),
      `${second}\n`,
    );
    assert.equal(viaStdin.code, 0, viaStdin.stderr);
    assert.equal(JSON.parse(viaStdin.stdout).secretHint, `…${second.slice(-4)}`);
    const third = `sk-test-${randomUUID()}`;
    const file = join(dataDir, 'things.secret');
    writeFileSync(file, `${third}\n`, { mode: 0o600 });
    const viaFile = await cli(
      ['upstreams', 'update', 'things', '--secret-file', file, '--name', 'things-v2', '--json'],
      env(),
    );
    assert.equal(viaFile.code, 0, viaFile.stderr);
    const renamed = JSON.parse(viaFile.stdout);
    assert.equal(renamed.name, 'things-v2');
    assert.equal(renamed.secretHint, `…${third.slice(-4)}`);
    const removed = JSON.parse(
      (
        await cli(
          ['upstreams', 'update', 'things-v2', '--remove-secret', '--any-env', '--json'],
          env(),
        )
      ).stdout,
    );
    assert.equal(removed.hasSecret, false);
    assert.equal(removed.environments, null);

    for (const result of [created, shown, viaStdin, viaFile])
      for (const s of [secret, second, third]) {
        assert.ok(!result.stdout.includes(s) && !result.stderr.includes(s), 'a secret was printed');
      }
    for (const s of [secret, second, third]) assert.ok(!output.includes(s) && !errors.includes(s));

    const deleted = await cli(['upstreams', 'delete', 'things-v2'], env());
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(
      (await cli(['upstreams', 'show', 'things-v2'], env())).stderr,
      /RESOURCE_NOT_FOUND/,
    );
  });

  test('upstreams: the secret is never taken as an argument value; bad input is refused', async () => {
    const secret = `sk-test-${randomUUID()}`;
    const asArgument = await cli(
      [
        'upstreams',
        'create',
        '--name',
        'x',
        '--type',
        'openai',
        '--base-url',
        'https://a.test',
        '--secret',
        secret,
      ],
      env(),
    );
    assert.notEqual(asArgument.code, 0);
    assert.ok(!asArgument.stderr.includes(secret), 'the rejected argument is not echoed');
    const unset = await cli(
      [
        'upstreams',
        'create',
        '--name',
        'x',
        '--type',
        'openai',
        '--base-url',
        'https://a.test',
        '--secret-env',
        'NOT_SET_ANYWHERE',
      ],
      env(),
    );
    assert.equal(unset.code, 2);
    assert.match(unset.stderr, /NOT_SET_ANYWHERE/);
    const badRoute = await cli(
      [
        'upstreams',
        'create',
        '--name',
        'x',
        '--type',
        'http',
        '--base-url',
        'https://a.test',
        '--route',
        'POST /x',
      ],
      env(),
    );
    assert.equal(badRoute.code, 2);
    assert.match(badRoute.stderr, /METHOD PATH SCOPE/);
    const server = await cli(
      [
        'upstreams',
        'create',
        '--name',
        'x',
        '--type',
        'openai',
        '--base-url',
        'https://u:p@a.test',
      ],
      env(),
    );
    assert.equal(server.code, 1);
    assert.match(server.stderr, /VALIDATION_FAILED: \/baseUrl/);
  });

  test('keys create/update: --model, --budget and token limits; owners set --budget', async () => {
    const created = await cli(
      [
        'keys',
        'create',
        '--name',
        'llm',
        '--model',
        'gpt-4o-mini',
        '--model',
        'gpt-4o*',
        '--budget',
        'monthly=25.00/month',
        '--budget',
        'daily=1.5/day',
        '--limit',
        'rpm=60/60',
        'tpm=100000/60/tokens',
        '--json',
      ],
      env(),
    );
    assert.equal(created.code, 0, created.stderr);
    const key = JSON.parse(created.stdout);
    assert.deepEqual(key.models, ['gpt-4o-mini', 'gpt-4o*']);
    assert.deepEqual(key.budgets, [
      { name: 'monthly', amount: 25, period: 'month' },
      { name: 'daily', amount: 1.5, period: 'day' },
    ]);
    assert.deepEqual(key.ratelimits, [
      { name: 'rpm', limit: 60, windowSeconds: 60 },
      { name: 'tpm', limit: 100000, windowSeconds: 60, unit: 'tokens' },
    ]);
    const updated = JSON.parse(
      (
        await cli(
          [
            'keys',
            'update',
            key.id,
            '--any-model',
            '--budget',
            'none',
            '--limit',
            'inherit',
            '--json',
          ],
          env(),
        )
      ).stdout,
    );
    assert.equal(updated.models, null);
    assert.equal(updated.budgets, null);
    assert.equal(updated.ratelimits, null);
    const tiny = await cli(
      ['keys', 'create', '--name', 'tiny', '--budget', 'daily=0.001/day'],
      env(),
    );
    assert.equal(tiny.code, 0, tiny.stderr);
    assert.match(
      tiny.stderr,
      /warning: budget "daily" \(\$0\.0010\) is less than what one request without max_tokens reserves/,
    );
    const tinyId = JSON.parse((await cli(['keys', 'list', '--json'], env())).stdout).data.find(
      (k: { name: string }) => k.name === 'tiny',
    ).id;
    const shown = await cli(['keys', 'show', tinyId], env());
    assert.match(shown.stdout, /^budgets +daily=\$0\.001\/day$/m, 'not [object Object]');
    const bad = await cli(['keys', 'update', key.id, '--budget', 'monthly=25'], env());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /NAME=AMOUNT\/PERIOD/);
    const decimals = await cli(['keys', 'update', key.id, '--budget', 'm=1.1234567/month'], env());
    assert.match(decimals.stderr, /VALIDATION_FAILED: \/budgets\/0\/amount/);

    const owner = JSON.parse(
      (
        await cli(
          [
            'owners',
            'set',
            'llm-team',
            '--budget',
            'monthly=500/month',
            '--limit',
            'tpm=1000000/60/tokens',
            '--json',
          ],
          env(),
        )
      ).stdout,
    );
    assert.deepEqual(owner.budgets, [{ name: 'monthly', amount: 500, period: 'month' }]);
    assert.equal(owner.ratelimits[0].unit, 'tokens');
  });

  test('SIGTERM: the server flushes every usage event before it exits (none lost)', async () => {
    const created = JSON.parse(
      (await cli(['keys', 'create', '--name', 'sigterm', '--json'], env())).stdout,
    );
    await Promise.all(
      Array.from({ length: 50 }, () =>
        fetch(`${url}/v1/auth`, { headers: { 'x-api-key': created.key } }),
      ),
    );
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    const kw = await openKeywarden(loadConfig({}, { dataDir }));
    try {
      assert.equal(await kw.store.usage.countEvents({ keyId: created.id }), 50);
    } finally {
      await kw.close();
    }
  });
});

test('keywarden prices shows the built-in OpenAI prices and their source, without a server', async () => {
  const one = await cli(['prices', 'gpt-4', '--json']);
  assert.equal(one.code, 0, one.stderr);
  const answer = JSON.parse(one.stdout);
  assert.deepEqual(answer.data, [
    { model: 'gpt-4', inputUsdPerMTok: '30.00', outputUsdPerMTok: '60.00', longContext: null },
  ]);
  assert.equal(answer.source.date, '2026-09-23');
  const table = await cli(['prices']);
  assert.match(table.stdout, /gpt-4o-mini +│ \$0\.15 +│ \$0\.60/);
  assert.match(table.stdout, /https:\/\/platform\.openai\.com\/docs\/pricing/);
  const unknown = await cli(['prices', 'my-own-model']);
  assert.match(unknown.stdout, /my-own-model +│ no price/);
});

test('a reader that closes the pipe early (`| head`) ends the command quietly, not with EPIPE', async () => {
  const child = spawn(process.execPath, [BIN, 'prices'], {
    env: { ...process.env, KEYWARDEN_ADMIN_KEY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy(); // the reader is gone before the first line is written
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
});

test('npm run keywarden works in the directory it was run from (INIT_CWD), for every relative path', async () => {
  const caller = mkdtempSync(join(tmpdir(), 'kw-caller-'));
  try {
    const leaked = generateKey({ prefix: 'kw', env: 'prod' });
    writeFileSync(join(caller, '.env'), `KEYWARDEN_KEY=${leaked}\n`);
    writeFileSync(join(caller, 'admin-key'), 'kwadmin_mgmt_not-a-real-key\n', { mode: 0o600 });
    // As npm runs the script: from the package root, the caller's directory in INIT_CWD.
    const npm = { INIT_CWD: caller, npm_lifecycle_event: 'keywarden' };
    const root = fileURLToPath(new URL('../../../..', import.meta.url));
    // stdin not a pipe: a bare `scan` would read a piped stdin instead of the directory.
    const inRoot = (args: string[]) =>
      new Promise<CliResult>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, ...args], {
          cwd: root,
          env: { ...process.env, KEYWARDEN_ADMIN_KEY: '', ...npm },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => {
          stdout += String(chunk);
        });
        child.stderr.on('data', (chunk) => {
          stderr += String(chunk);
        });
        child.once('error', reject);
        child.once('close', (code) => resolve({ stdout, stderr, code: code ?? -1 }));
      });
    const relative = await inRoot(['scan', '.env', '--format', 'json']);
    assert.equal(relative.code, 1, `a finding: exit 1\n${relative.stderr}`);
    assert.equal(JSON.parse(relative.stdout).findings.length, 1);
    assert.doesNotMatch(relative.stderr, /scanning…/, 'no progress line when stderr is piped');
    const bare = await inRoot(['scan', '--format', 'json']);
    assert.equal(JSON.parse(bare.stdout).findings.length, 1, 'a bare scan scans the caller');
    // --key-file is the caller's too: read (and refused by the server's absence), not missing.
    const keyFile = await inRoot([
      'keys',
      'list',
      '--key-file',
      'admin-key',
      '--url',
      'http://127.0.0.1:9',
    ]);
    assert.doesNotMatch(keyFile.stderr, /ENOENT|no such file/i);
  } finally {
    rmSync(caller, { recursive: true, force: true });
  }
});
