import { isBinary } from './files.ts';
import { GitOutputTooLarge, gitTopLevel, runGit } from './git.ts';
import type { ScanSource, SkipReason } from './types.ts';

/**
 * What `git commit` is about to record: each added, copied, modified or renamed path in the
 * index, read from the index itself (`git show :path`), not from the work tree, which may
 * differ. Paths are relative to the repository's top level, as git prints them.
 */
export async function* readStagedSources(
  cwd: string,
  options: { maxFileSize: number; onSkip?: (path: string, reason: SkipReason) => void },
): AsyncGenerator<ScanSource> {
  const root = await gitTopLevel(cwd);
  const names = await runGit(
    ['diff', '--cached', '--name-only', '-z', '--diff-filter=ACMR', '--no-renames'],
    root,
  );
  const paths = names.toString('utf8').split('\0').filter(Boolean).sort();
  for (const path of paths) {
    let blob: Buffer;
    try {
      blob = await runGit(['show', `:${path}`], root, { maxBytes: options.maxFileSize });
    } catch (error) {
      if (error instanceof GitOutputTooLarge) {
        options.onSkip?.(path, 'too-large');
        continue;
      }
      throw error;
    }
    if (isBinary(blob)) {
      options.onSkip?.(path, 'binary');
      continue;
    }
    yield { file: path, text: blob.toString('utf8'), bytes: blob.length };
  }
}
