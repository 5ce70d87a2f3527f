import type { ScanProgress } from '../scanner/index.ts';

/**
 * `keywarden scan`'s progress line on a terminal: files, bytes and findings so far, rewritten
 * in place at most every `intervalMs`, erased when the scan is over so that the report and
 * the summary start on a clean line. The CLI uses it only when stderr is a terminal: piped or
 * redirected output gets nothing extra.
 */
export function terminalProgress(
  write: (text: string) => void,
  now: () => number,
  intervalMs = 200,
): (state: ScanProgress | null) => void {
  let last = Number.NEGATIVE_INFINITY;
  let shown = false;
  return (state) => {
    if (state === null) {
      if (shown) write('\r\x1b[K');
      shown = false;
      return;
    }
    const at = now();
    if (at - last < intervalMs) return;
    last = at;
    shown = true;
    const mb = state.bytes / (1024 * 1024);
    const commits = state.commits !== undefined ? `${state.commits} commits, ` : '';
    const findings = `${state.findings} finding${state.findings === 1 ? '' : 's'}`;
    write(
      `\r\x1b[Kscanning… ${commits}${state.files} ${state.commits !== undefined ? 'hunks' : 'files'}, ${mb.toFixed(1)} MB, ${findings}`,
    );
  };
}
