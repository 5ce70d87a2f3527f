import Table from 'cli-table3';
import type { ScanFinding } from '../scan-finding.ts';

/** The human report: one row per finding, secrets only in their redacted form. */
export function formatFindingsTable(findings: readonly ScanFinding[]): string {
  if (findings.length === 0) return 'No secrets found.\n';
  const withCommit = findings.some((f) => f.commit !== undefined);
  const withCheck = findings.some((f) => f.check !== undefined);
  const head = [
    'location',
    'kind',
    'secret',
    ...(withCommit ? ['commit'] : []),
    ...(withCheck ? ['status'] : []),
  ];
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const f of findings) {
    const status = f.check
      ? [f.revoked ? 'revoked now' : f.check.status, f.check.keyId, f.check.code]
          .filter(Boolean)
          .join(' ')
      : '';
    table.push([
      `${f.file}:${f.line}:${f.column}`,
      f.kind,
      f.redacted,
      ...(withCommit
        ? [f.commit ? `${f.commit.slice(0, 12)} ${f.authorDate?.slice(0, 10)}` : '-']
        : []),
      ...(withCheck ? [status || '-'] : []),
    ]);
  }
  return `${table.toString()}\n`;
}
