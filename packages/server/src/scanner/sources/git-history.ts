import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { gitRepositoryRoot } from './git.ts';
import type { ScanSource } from './types.ts';

/**
 * Every line ever added, in every commit reachable from any ref: `git log -p --all
 * --unified=0` streamed through a line parser, so that a history of any size costs the memory
 * of one hunk. Only additions are scanned (a removal cannot leak anything new); renames and
 * copies show only their changed lines; binary diffs have no lines. Merge commits show no
 * patch (git's default), so a secret typed into a conflict resolution alone is not seen.
 */

/** Marks a commit's header line; chosen so that it cannot begin a diff line. */
const COMMIT_MARK = '\u001ekeywarden-commit ';
/** A hunk larger than this is scanned in pieces, so that one huge file cannot fill memory. */
const MAX_CHUNK_CHARS = 4 * 1024 * 1024;

export const GIT_LOG_ARGS: readonly string[] = Object.freeze([
  '-c',
  'core.quotePath=false',
  'log',
  '-p',
  '--all',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--unified=0',
  `--format=${COMMIT_MARK.replace('\u001e', '%x1e')}%H %aI`,
]);

/** Undoes git's C-style quoting of unusual paths (`"a\\tb"`, octal escapes for raw bytes). */
export function unquoteGitPath(text: string): string {
  if (!text.startsWith('"') || !text.endsWith('"')) return text;
  const bytes: number[] = [];
  const escapes: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11 };
  const body = Buffer.from(text.slice(1, -1), 'utf8');
  for (let i = 0; i < body.length; i++) {
    const byte = body[i]!;
    if (byte !== 0x5c) {
      bytes.push(byte);
      continue;
    }
    const next = String.fromCharCode(body[i + 1] ?? 0);
    if (/[0-7]/.test(next)) {
      bytes.push(Number.parseInt(body.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else {
      bytes.push(escapes[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function pathAfterPrefix(text: string): string {
  const path = unquoteGitPath(text.trim());
  return path.startsWith('b/') ? path.slice(2) : path;
}

const HUNK_HEADER = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/**
 * A push parser over `git log -p` lines, so that it can be tested line by line. Each hunk's
 * added lines come out as one text, with the line number of its first line.
 */
export class GitLogParser {
  #commit = '';
  #authorDate = '';
  #file: string | null = null;
  #oldLeft = 0;
  #newLeft = 0;
  #nextLine = 0;
  #added: string[] = [];
  #addedChars = 0;
  #addedFirstLine = 0;

  /** Feeds one line (without its newline); returns the texts completed by it. */
  push(line: string): ScanSource[] {
    const out: ScanSource[] = [];
    if (this.#oldLeft > 0 || this.#newLeft > 0) {
      if (line.startsWith('+')) {
        this.#newLeft--;
        this.#add(line.slice(1), out);
        if (this.#oldLeft === 0 && this.#newLeft === 0) this.#flush(out);
        return out;
      }
      if (line.startsWith('-')) {
        this.#oldLeft--;
        if (this.#oldLeft === 0 && this.#newLeft === 0) this.#flush(out);
        return out;
      }
      if (line.startsWith('\\')) return out; // "\ No newline at end of file"
      // Anything else ends the hunk early (a truncated stream): fall through to headers.
      this.#oldLeft = 0;
      this.#newLeft = 0;
      this.#flush(out);
    } else if (line.startsWith('\\')) {
      return out;
    }

    if (line.startsWith(COMMIT_MARK)) {
      this.#flush(out);
      const [commit = '', authorDate = ''] = line.slice(COMMIT_MARK.length).split(' ');
      this.#commit = commit;
      this.#authorDate = authorDate;
      this.#file = null;
    } else if (line.startsWith('diff --git ')) {
      this.#flush(out);
      this.#file = null;
    } else if (line.startsWith('+++ ')) {
      const target = line.slice(4);
      this.#file = target === '/dev/null' ? null : pathAfterPrefix(target);
    } else if (line.startsWith('rename to ') || line.startsWith('copy to ')) {
      this.#file ??= unquoteGitPath(line.slice(line.indexOf(' to ') + 4));
    } else if (line.startsWith('@@ ')) {
      const header = HUNK_HEADER.exec(line);
      if (header) {
        this.#oldLeft = header[1] === undefined ? 1 : Number(header[1]);
        this.#newLeft = header[3] === undefined ? 1 : Number(header[3]);
        this.#nextLine = Number(header[2]);
      }
    }
    return out;
  }

  /** Call at the end of the stream. */
  end(): ScanSource[] {
    const out: ScanSource[] = [];
    this.#flush(out);
    return out;
  }

  #add(text: string, out: ScanSource[]): void {
    if (this.#added.length === 0) this.#addedFirstLine = this.#nextLine;
    this.#added.push(text);
    this.#addedChars += text.length + 1;
    this.#nextLine++;
    if (this.#addedChars >= MAX_CHUNK_CHARS) this.#flush(out);
  }

  #flush(out: ScanSource[]): void {
    if (this.#added.length === 0) return;
    const text = this.#added.join('\n');
    this.#added = [];
    this.#addedChars = 0;
    if (this.#file === null) return;
    out.push({
      file: this.#file,
      text,
      bytes: Buffer.byteLength(text),
      firstLine: this.#addedFirstLine,
      commit: this.#commit,
      authorDate: this.#authorDate,
    });
  }
}

/**
 * Lines split on `\n` only (readline also splits on a lone `\r`, which would cut a diff line
 * of a file with old Mac line endings in two and break the hunk's line count).
 */
export async function* splitLines(stream: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    let at = pending.indexOf('\n');
    let from = 0;
    while (at !== -1) {
      const end = at > from && pending.charCodeAt(at - 1) === 13 ? at - 1 : at;
      yield pending.slice(from, end);
      from = at + 1;
      at = pending.indexOf('\n', from);
    }
    pending = pending.slice(from);
  }
  pending += decoder.end();
  if (pending !== '') yield pending;
}

export interface HistoryProgress {
  commits: number;
}

/** Streams the added lines of the whole history of the repository that holds `cwd`. */
export async function* readGitHistory(
  cwd: string,
  progress: HistoryProgress = { commits: 0 },
): AsyncGenerator<ScanSource> {
  const root = await gitRepositoryRoot(cwd);
  const child = spawn('git', [...GIT_LOG_ARGS], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolvePromise, reject) => {
    child.on('error', (error) => reject(new Error(`cannot run git: ${error.message}`)));
    child.on('close', resolvePromise);
  });
  const parser = new GitLogParser();
  let complete = false;
  try {
    for await (const line of splitLines(child.stdout)) {
      if (line.startsWith(COMMIT_MARK)) progress.commits++;
      yield* parser.push(line);
    }
    yield* parser.end();
    complete = true;
  } finally {
    // Stopped early (an error downstream): do not leave git writing into a closed pipe.
    if (!complete && child.exitCode === null) child.kill();
  }
  const code = await exited;
  // A repository without commits has no history to scan, not an error.
  if (code !== 0 && !/does not have any commits|bad default revision/.test(stderr)) {
    throw new Error(`git log: ${stderr.trim() || `exit code ${code}`}`);
  }
}
