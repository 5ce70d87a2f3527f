import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { displayKey, generateKey } from '@keywarden/core';
import Ajv from 'ajv';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { parseBaseline } from './baseline.ts';
import { SARIF_SCHEMA } from './report/sarif.ts';
import { runScan, ScanUsageError } from './scan.ts';
import { makeSecret, seededRng } from './testing/corpus.ts';
import { git, initRepo, memoryIo, tempDir, writeTree } from './testing/io.ts';

const rng = seededRng(5);
const dirs: string[] = [];
function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const key = () => generateKey({ prefix: 'kw', env: 'prod' });

describe('runScan: files and folders', () => {
  const root = dir('tree');
  const keys = Array.from({ length: 8 }, key);
  writeTree(root, {
    '.gitignore': 'ignored.txt\nbuild/\n*.log\n!keep.log\n',
    'src/app.ts': `export const k = '${keys[0]}';\n`,
    'src/ignored.txt': `${keys[1]}\n`,
    'build/out.js': `var k="${keys[2]}"`,
    'node_modules/dep/index.js': `module.exports = '${keys[3]}';`,
    '.git/config': `[remote] token = ${keys[3]}\n`,
    'logs/app.log': `${keys[4]}\n`,
    'logs/keep.log': `using ${keys[5]}\n`,
    'nested/.gitignore': 'secret.env\n',
    'nested/secret.env': `KEY=${keys[6]}\n`,
    'nested/deeper/.gitignore': '!../secret.env\n',
    'nested/other.env': `KEY=${keys[7]}\n`,
    'image.bin': Buffer.concat([Buffer.from([0x89, 0x50, 0, 0]), Buffer.from(keys[0]!)]),
  });

  it('walks recursively, honouring .gitignore at every level, and skips .git, node_modules and binaries', async () => {
    const io = memoryIo(root);
    const result = await runScan({ paths: ['.'], format: 'json' }, io);
    assert.equal(result.exitCode, 1);
    assert.deepEqual(
      result.findings.map((f) => f.file),
      ['logs/keep.log', 'nested/other.env', 'src/app.ts'],
    );
    assert.equal(result.summary.skipped.binary, 1);
    const report = JSON.parse(io.out.join(''));
    assert.equal(report.findings.length, 3);
    assert.equal(report.findings[2].redacted, displayKey(keys[0]!));
    for (const k of keys) assert.equal(io.out.join('').includes(k), false);
  });

  it('scans a file named explicitly even if ignored, and a folder with the repository rules above it', async () => {
    const explicit = await runScan({ paths: ['src/ignored.txt'] }, memoryIo(root));
    assert.equal(explicit.findings.length, 1);
    const sub = await runScan({ paths: ['src'] }, memoryIo(root));
    assert.deepEqual(
      sub.findings.map((f) => f.file),
      ['src/app.ts'],
    );
  });

  it('skips files over the size cap', async () => {
    const result = await runScan({ paths: ['src'], maxFileSize: 10 }, memoryIo(root));
    assert.equal(result.findings.length, 0);
    assert.equal(result.summary.skipped['too-large'], 1);
    assert.equal(result.exitCode, 0);
  });

  it('prints a table with the redacted secret, and says when nothing is found', async () => {
    const io = memoryIo(root);
    await runScan({ paths: ['src/app.ts'] }, io);
    const table = io.out.join('');
    assert.match(table, /src\/app\.ts:1:19/);
    assert.ok(table.includes(displayKey(keys[0]!)));
    assert.equal(table.includes(keys[0]!), false);
    const clean = memoryIo(root);
    const result = await runScan({ paths: ['.gitignore'] }, clean);
    assert.equal(result.exitCode, 0);
    assert.equal(clean.out.join(''), 'No secrets found.\n');
  });

  it('fails as a usage error on a path that does not exist', async () => {
    await assert.rejects(runScan({ paths: ['nope'] }, memoryIo(root)), ScanUsageError);
  });
});

describe('runScan: progress', () => {
  it('reports each file as it is scanned, then null when it is over', async () => {
    const root = dir('progress');
    writeTree(root, {
      'a.txt': 'nothing\n',
      'b/c.env': `KEY=${key()}\n`,
      'b/d.txt': 'x'.repeat(100),
    });
    const states: unknown[] = [];
    const io = memoryIo(root, { progress: (state) => states.push(state) });
    await runScan({ paths: ['.'] }, io);
    assert.equal(states.length, 4);
    assert.equal(states.at(-1), null);
    const last = states.at(-2) as { files: number; bytes: number; findings: number };
    assert.deepEqual([last.files, last.findings], [3, 1]);
    assert.ok(last.bytes > 100);
  });
});

describe('runScan: standard input', () => {
  it('reads stdin when asked, and `-` as a path', async () => {
    const k = key();
    const openai = makeSecret('openai', rng);
    const io = memoryIo(dir('stdin'), { stdin: `line\nKEY=${k}\nother ${openai}\n` });
    const result = await runScan({ stdin: true, format: 'json' }, io);
    assert.deepEqual(
      result.findings.map((f) => [f.file, f.line, f.kind]),
      [
        ['stdin', 2, 'keywarden'],
        ['stdin', 3, 'openai'],
      ],
    );
    const named = await runScan(
      { paths: ['-'], stdinName: 'pasted.env' },
      memoryIo(dir('stdin2'), { stdin: k }),
    );
    assert.equal(named.findings[0]?.file, 'pasted.env');
  });
});

describe('runScan: baselines', () => {
  it('round-trips: written fingerprints are not reported again, new findings are', async () => {
    const root = dir('baseline');
    const [k1, k2, k3] = [key(), key(), key()];
    writeTree(root, { 'a.ts': `const a = '${k1}';\nconst b = '${k2}';\n` });
    const write = await runScan({ paths: ['.'], writeBaseline: 'baseline.json' }, memoryIo(root));
    assert.equal(write.exitCode, 0, 'writing a baseline accepts what it holds');
    const text = readFileSync(join(root, 'baseline.json'), 'utf8');
    for (const k of [k1!, k2!]) assert.equal(text.includes(k), false, 'a baseline holds no secret');
    assert.equal(parseBaseline(text).size, 2);
    const entries = JSON.parse(text).findings;
    assert.deepEqual(
      entries.map((e: { file: string; line: number }) => [e.file, e.line]),
      [
        ['a.ts', 1],
        ['a.ts', 2],
      ],
    );

    const again = await runScan({ paths: ['.'], baseline: 'baseline.json' }, memoryIo(root));
    assert.equal(again.exitCode, 0);
    assert.equal(again.summary.suppressedByBaseline, 2);

    writeTree(root, { 'b.ts': `const c = '${k3}';\n` });
    const more = await runScan({ paths: ['.'], baseline: 'baseline.json' }, memoryIo(root));
    assert.equal(more.exitCode, 1);
    assert.deepEqual(
      more.findings.map((f) => f.file),
      ['b.ts'],
    );
  });

  it('accepts a bare list of fingerprints and refuses a malformed baseline', async () => {
    const root = dir('baseline2');
    const k = key();
    writeTree(root, { 'a.ts': k });
    const [finding] = (await runScan({ paths: ['a.ts'] }, memoryIo(root))).findings;
    writeTree(root, {
      'list.json': JSON.stringify([finding?.fingerprint]),
      'bad.json': JSON.stringify([k]),
      'broken.json': '{',
    });
    assert.equal(
      (await runScan({ paths: ['a.ts'], baseline: 'list.json' }, memoryIo(root))).exitCode,
      0,
    );
    for (const file of ['bad.json', 'broken.json', 'missing.json']) {
      await assert.rejects(
        runScan({ paths: ['a.ts'], baseline: file }, memoryIo(root)),
        ScanUsageError,
        file,
      );
    }
  });
});

// The SARIF 2.1.0 properties this report relies on, with their types, required lists and
// the `version` const, taken from the OASIS schema (sarif-schema-2.1.0.json).
const SARIF_SUBSET = {
  type: 'object',
  required: ['version', 'runs'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string', format: 'uri' },
    version: { const: '2.1.0' },
    runs: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['tool'],
        properties: {
          tool: {
            type: 'object',
            required: ['driver'],
            properties: {
              driver: {
                type: 'object',
                required: ['name'],
                properties: {
                  name: { type: 'string' },
                  semanticVersion: { type: 'string' },
                  rules: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['id'],
                      additionalProperties: false,
                      properties: {
                        id: { type: 'string' },
                        name: { type: 'string' },
                        shortDescription: { $ref: '#/$defs/message' },
                        fullDescription: { $ref: '#/$defs/message' },
                        help: { $ref: '#/$defs/message' },
                        defaultConfiguration: {
                          type: 'object',
                          properties: { level: { $ref: '#/$defs/level' } },
                        },
                        properties: { type: 'object' },
                      },
                    },
                  },
                },
              },
            },
          },
          columnKind: { enum: ['utf16CodeUnits', 'unicodeCodePoints'] },
          results: {
            type: 'array',
            items: {
              type: 'object',
              required: ['message'],
              additionalProperties: false,
              properties: {
                ruleId: { type: 'string' },
                ruleIndex: { type: 'integer', minimum: -1 },
                level: { $ref: '#/$defs/level' },
                message: { $ref: '#/$defs/message' },
                locations: {
                  type: 'array',
                  items: {
                    type: 'object',
                    additionalProperties: false,
                    properties: {
                      physicalLocation: {
                        type: 'object',
                        additionalProperties: false,
                        properties: {
                          artifactLocation: {
                            type: 'object',
                            additionalProperties: false,
                            properties: {
                              uri: { type: 'string', format: 'uri-reference' },
                              uriBaseId: { type: 'string' },
                            },
                          },
                          region: {
                            type: 'object',
                            additionalProperties: false,
                            properties: {
                              startLine: { type: 'integer', minimum: 1 },
                              startColumn: { type: 'integer', minimum: 1 },
                              endLine: { type: 'integer', minimum: 1 },
                              endColumn: { type: 'integer', minimum: 1 },
                            },
                          },
                        },
                      },
                    },
                  },
                },
                partialFingerprints: { type: 'object', additionalProperties: { type: 'string' } },
                properties: { type: 'object' },
              },
            },
          },
        },
      },
    },
  },
  $defs: {
    level: { enum: ['none', 'note', 'warning', 'error'] },
    message: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
  },
};

describe('runScan: SARIF', () => {
  it('writes SARIF 2.1.0 with rules, results, relative URIs and fingerprints', async () => {
    const root = dir('sarif');
    const k = key();
    const github = makeSecret('github', rng);
    writeTree(root, {
      'src/dir with space/app.ts': `\n  const k = '${k}';\n`,
      'config.yaml': `token: ${github}\napi_key: q8Zr2LmX5vN7pK1tW4yB9cD3fG6hJ0sA\n`,
    });
    const io = memoryIo(root);
    const result = await runScan({ paths: ['.'], format: 'sarif', toolVersion: '1.2.3' }, io);
    assert.equal(result.exitCode, 1);
    const text = io.out.join('');
    for (const secret of [k, github, 'q8Zr2LmX5vN7pK1tW4yB9cD3fG6hJ0sA']) {
      assert.equal(text.includes(secret), false);
    }
    const sarif = JSON.parse(text);

    const ajv = new Ajv.default({ strict: true, allErrors: true });
    addFormats.default(ajv, ['uri', 'uri-reference']);
    const validate = ajv.compile(SARIF_SUBSET);
    // Validated on copies: the type guard would otherwise narrow `sarif` to the subset's type.
    assert.ok(validate(structuredClone(sarif)), JSON.stringify(validate.errors, null, 2));

    // And against the official SARIF 2.1.0 schema (draft-04), as shipped by Microsoft's
    // @microsoft/jest-sarif package (the schema is read from disk: no network needed).
    const official = JSON.parse(
      readFileSync(
        createRequire(import.meta.url).resolve(
          '@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json',
        ),
        'utf8',
      ),
    );
    // unicodeRegExp off: one pattern in the official schema is not valid in JavaScript's u mode.
    const draft4 = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false });
    addFormats.default(draft4 as unknown as Parameters<typeof addFormats.default>[0]);
    const validateOfficial = draft4.compile(official);
    assert.ok(
      validateOfficial(structuredClone(sarif)),
      JSON.stringify(validateOfficial.errors, null, 2),
    );
    assert.equal(
      validateOfficial({ ...structuredClone(sarif), version: '2.0.0' }),
      false,
      'the official schema check is not a no-op',
    );
    // The check has teeth: a wrong version, a missing message or a 0 line is refused.
    for (const spoil of [
      (log: typeof sarif) => {
        log.version = '2.0.0';
      },
      (log: typeof sarif) => {
        delete log.runs[0].results[0].message;
      },
      (log: typeof sarif) => {
        log.runs[0].results[0].locations[0].physicalLocation.region.startLine = 0;
      },
      (log: typeof sarif) => {
        delete log.runs[0].tool.driver.name;
      },
    ]) {
      const copy = structuredClone(sarif);
      spoil(copy);
      assert.equal(validate(copy), false);
    }

    assert.equal(sarif.$schema, SARIF_SCHEMA);
    const run = sarif.runs[0];
    assert.equal(run.tool.driver.name, 'keywarden');
    assert.equal(run.tool.driver.semanticVersion, '1.2.3');
    const ruleIds = run.tool.driver.rules.map((r: { id: string }) => r.id);
    assert.ok(ruleIds.includes('keywarden-api-key'));
    assert.deepEqual(
      run.results.map((r: { ruleId: string }) => r.ruleId),
      ['github-token', 'generic-secret-assignment', 'keywarden-api-key'],
    );
    const last = run.results[2];
    assert.equal(run.tool.driver.rules[last.ruleIndex].id, 'keywarden-api-key');
    assert.equal(last.level, 'error');
    assert.equal(run.results[1].level, 'warning');
    assert.match(last.message.text, /keywarden API key found: kw_prod_…/);
    assert.deepEqual(last.locations[0].physicalLocation, {
      artifactLocation: { uri: 'src/dir%20with%20space/app.ts', uriBaseId: '%SRCROOT%' },
      region: { startLine: 2, startColumn: 14, endLine: 2, endColumn: 14 + k.length },
    });
    assert.match(last.partialFingerprints['keywardenSecret/v1'], /^[0-9a-f]{64}$/);
  });
});

describe('runScan: git history and staged files', () => {
  it('finds a key removed from the tree in history, with its commit, date, file and line', async () => {
    const repo = dir('history');
    initRepo(repo);
    const k = key();
    const stripe = makeSecret('stripe', rng);
    writeTree(repo, { 'config/app.env': `PORT=8080\nKEYWARDEN_KEY=${k}\n` });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'add config');
    const added = git(repo, 'rev-parse', 'HEAD').trim();
    writeTree(repo, { 'config/app.env': 'PORT=8080\n' });
    git(repo, 'commit', '-qam', 'remove the key');
    // On another branch, in a renamed file: every ref is scanned.
    git(repo, 'checkout', '-qb', 'feature');
    git(repo, 'mv', 'config/app.env', 'config/renamed.env');
    writeTree(repo, { 'config/renamed.env': `PORT=8080\nSTRIPE=${stripe}\n` });
    git(repo, 'commit', '-qam', 'rename and add');
    git(repo, 'checkout', '-q', 'main');

    const plain = await runScan({ paths: ['.'] }, memoryIo(repo));
    assert.equal(plain.findings.length, 0, 'the work tree is clean');

    const io = memoryIo(repo);
    const history = await runScan({ git: true, format: 'json' }, io);
    assert.equal(history.exitCode, 1);
    assert.equal(history.summary.commits, 3);
    const found = history.findings.map((f) => [f.kind, f.file, f.line, f.commit?.length]);
    assert.deepEqual(found, [
      ['stripe', 'config/renamed.env', 2, 40],
      ['keywarden', 'config/app.env', 2, 40],
    ]);
    const keyFinding = history.findings[1]!;
    assert.equal(keyFinding.commit, added);
    assert.match(keyFinding.authorDate ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.equal(io.out.join('').includes(k), false);
  });

  it('scans what is staged, from the index, not the work tree', async () => {
    const repo = dir('staged');
    initRepo(repo);
    const k = key();
    writeTree(repo, { 'a.txt': 'clean\n', 'b.txt': `token ${k}\n` });
    git(repo, 'add', 'a.txt', 'b.txt');
    // The work tree no longer holds the key, but the index does.
    writeTree(repo, { 'b.txt': 'fixed\n', 'c.txt': `unstaged ${key()}\n` });
    const result = await runScan({ staged: true }, memoryIo(repo));
    assert.deepEqual(
      result.findings.map((f) => [f.file, f.line]),
      [['b.txt', 1]],
    );
  });

  it('refuses --git with --staged, and a folder that is not a repository', async () => {
    const plain = dir('norepo');
    await assert.rejects(runScan({ git: true, staged: true }, memoryIo(plain)), ScanUsageError);
    await assert.rejects(runScan({ git: true }, memoryIo(plain)), /not inside a git work tree/);
  });
});
