import type { KeyCheck } from './check.ts';
import type { Finding } from './detect.ts';
import type { ScanSource } from './sources/types.ts';

/** A finding placed in its file (and commit), with what `--check` and `--revoke` learnt. */
export interface ScanFinding extends Finding {
  readonly file: string;
  readonly commit?: string;
  readonly authorDate?: string;
  check?: KeyCheck;
  revoked?: boolean;
}

/** Moves a finding from its text's coordinates to the file's, keeping the secret hidden. */
export function locateFinding(finding: Finding, source: ScanSource): ScanFinding {
  const shift = (source.firstLine ?? 1) - 1;
  const located: Record<string, unknown> = {
    ruleId: finding.ruleId,
    kind: finding.kind,
    file: source.file,
    line: finding.line + shift,
    column: finding.column,
    endLine: finding.endLine + shift,
    endColumn: finding.endColumn,
    redacted: finding.redacted,
    fingerprint: finding.fingerprint,
  };
  if (source.commit !== undefined) located.commit = source.commit;
  if (source.authorDate !== undefined) located.authorDate = source.authorDate;
  Object.defineProperty(located, 'secret', { value: finding.secret, enumerable: false });
  return located as unknown as ScanFinding;
}

export function locationOf(finding: ScanFinding): string {
  const where = `${finding.file}:${finding.line}`;
  return finding.commit ? `${where} (commit ${finding.commit.slice(0, 12)})` : where;
}

/** The public form of a finding: every field except the secret, in a fixed order. */
export function findingToJson(finding: ScanFinding): Record<string, unknown> {
  return {
    ruleId: finding.ruleId,
    kind: finding.kind,
    file: finding.file,
    line: finding.line,
    column: finding.column,
    endLine: finding.endLine,
    endColumn: finding.endColumn,
    redacted: finding.redacted,
    fingerprint: finding.fingerprint,
    ...(finding.commit !== undefined && { commit: finding.commit, authorDate: finding.authorDate }),
    ...(finding.check !== undefined && { check: finding.check }),
    ...(finding.revoked !== undefined && { revoked: finding.revoked }),
  };
}
