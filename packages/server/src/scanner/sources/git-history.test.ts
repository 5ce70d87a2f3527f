import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { GitLogParser, splitLines, unquoteGitPath } from './git-history.ts';
import type { ScanSource } from './types.ts';

const MARK = '\u001ekeywarden-commit ';
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function parse(lines: string[]): ScanSource[] {
  const parser = new GitLogParser();
  return [...lines.flatMap((line) => parser.push(line)), ...parser.end()];
}

describe('GitLogParser', () => {
  it('yields each hunk of added lines with its file, first line and commit', () => {
    const out = parse([
      `${MARK}${A} 2025-01-02T03:04:05+00:00`,
      '',
      'diff --git a/src/app.ts b/src/app.ts',
      'index 1111111..2222222 100644',
      '--- a/src/app.ts',
      '+++ b/src/app.ts',
      '@@ -3,0 +4,2 @@ export function f() {',
      '+const one = 1;',
      '+const two = 2;',
      '@@ -10,2 +12 @@ more',
      '-old line',
      '-old line 2',
      '+new line',
      'diff --git a/docs/new.md b/docs/new.md',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/docs/new.md',
      '@@ -0,0 +1 @@',
      '+hello',
      '\\ No newline at end of file',
      `${MARK}${B} 2025-01-01T00:00:00+00:00`,
      '',
      'diff --git a/gone.txt b/gone.txt',
      'deleted file mode 100644',
      '--- a/gone.txt',
      '+++ /dev/null',
      '@@ -1,2 +0,0 @@',
      '-+not an addition',
      '-x',
    ]);
    assert.deepEqual(
      out.map((s) => [s.commit, s.authorDate, s.file, s.firstLine, s.text]),
      [
        [A, '2025-01-02T03:04:05+00:00', 'src/app.ts', 4, 'const one = 1;\nconst two = 2;'],
        [A, '2025-01-02T03:04:05+00:00', 'src/app.ts', 12, 'new line'],
        [A, '2025-01-02T03:04:05+00:00', 'docs/new.md', 1, 'hello'],
      ],
    );
  });

  it('tells added lines that look like headers from headers, by counting', () => {
    const out = parse([
      `${MARK}${A} 2025-01-01T00:00:00Z`,
      'diff --git a/x b/x',
      '--- a/x',
      '+++ b/x',
      '@@ -1 +1,3 @@',
      '-a',
      '++++ b/evil',
      '+diff --git a/y b/y',
      `+${MARK}not a commit`,
    ]);
    assert.equal(out.length, 1);
    assert.equal(out[0]?.file, 'x');
    assert.equal(out[0]?.text, `+++ b/evil\ndiff --git a/y b/y\n${MARK}not a commit`);
  });

  it('follows renames, skips binary diffs and unquotes unusual paths', () => {
    const out = parse([
      `${MARK}${A} 2025-01-01T00:00:00Z`,
      'diff --git a/old name.txt b/new name.txt',
      'similarity index 90%',
      'rename from old name.txt',
      'rename to new name.txt',
      '--- a/old name.txt\t',
      '+++ b/new name.txt\t',
      '@@ -2 +2 @@',
      '-before',
      '+after',
      'diff --git a/logo.png b/logo.png',
      'new file mode 100644',
      'Binary files /dev/null and b/logo.png differ',
      'diff --git "a/tab\\there" "b/tab\\there"',
      '--- /dev/null',
      '+++ "b/tab\\there"',
      '@@ -0,0 +1 @@',
      '+x',
    ]);
    assert.deepEqual(
      out.map((s) => [s.file, s.firstLine, s.text]),
      [
        ['new name.txt', 2, 'after'],
        ['tab\there', 1, 'x'],
      ],
    );
  });

  it('unquotes git paths, octal-escaped UTF-8 included', () => {
    assert.equal(unquoteGitPath('plain.txt'), 'plain.txt');
    assert.equal(unquoteGitPath('"a\\"b\\\\c"'), 'a"b\\c');
    assert.equal(unquoteGitPath('"caf\\303\\251.txt"'), 'café.txt');
  });
});

describe('splitLines', () => {
  it('splits on \\n only, drops a \\r before it, and keeps a lone \\r', async () => {
    const stream = Readable.from([
      Buffer.from('a\r\nb\rc\nd'),
      Buffer.from('\xC3', 'latin1'),
      Buffer.from('\xA9\n', 'latin1'),
    ]);
    const lines: string[] = [];
    for await (const line of splitLines(stream)) lines.push(line);
    assert.deepEqual(lines, ['a', 'b\rc', 'dé']);
  });
});
