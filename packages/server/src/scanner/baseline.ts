/**
 * Baselines: findings a team has looked at and accepted (test fixtures, revoked keys left in
 * history), stored by fingerprint so that the file itself holds no secret. Parsing and
 * serialising are pure; the command reads and writes the file.
 *
 * A fingerprint is sha256(rule id, secret). For a high-entropy secret it reveals nothing; a
 * low-entropy value could be guessed from it, which is one more reason to rotate what a
 * baseline accepts rather than only hide it.
 */

export interface BaselineEntry {
  fingerprint: string;
  ruleId?: string;
  file?: string;
  line?: number;
  commit?: string;
}

export interface BaselineFile {
  tool: 'keywarden scan';
  version: 1;
  findings: BaselineEntry[];
}

const FINGERPRINT = /^[0-9a-f]{64}$/;

export class BaselineError extends Error {}

/**
 * Accepts what we write (`{ findings: [{ fingerprint, … }] }`), a bare array of fingerprints,
 * or `{ fingerprints: [...] }`, so that a list kept by hand works too.
 */
export function parseBaseline(text: string): Set<string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BaselineError(`baseline is not JSON: ${(error as Error).message}`);
  }
  const record = value as Record<string, unknown> | null;
  const list: unknown = Array.isArray(value)
    ? value
    : (record?.findings ?? record?.fingerprints ?? null);
  if (!Array.isArray(list)) {
    throw new BaselineError('baseline must be an array of fingerprints or { "findings": [...] }');
  }
  const fingerprints = new Set<string>();
  for (const item of list) {
    const fingerprint =
      typeof item === 'string' ? item : (item as Record<string, unknown> | null)?.fingerprint;
    if (typeof fingerprint !== 'string' || !FINGERPRINT.test(fingerprint)) {
      throw new BaselineError(
        `baseline entry is not a sha256 hex fingerprint: ${JSON.stringify(item)?.slice(0, 80)}`,
      );
    }
    fingerprints.add(fingerprint);
  }
  return fingerprints;
}

export function serializeBaseline(entries: readonly BaselineEntry[]): string {
  // One entry per fingerprint, in a stable order, so that the file diffs well in review.
  const byFingerprint = new Map<string, BaselineEntry>();
  for (const entry of entries) {
    if (!byFingerprint.has(entry.fingerprint)) byFingerprint.set(entry.fingerprint, entry);
  }
  const findings = [...byFingerprint.values()].sort(
    (a, b) =>
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      a.fingerprint.localeCompare(b.fingerprint),
  );
  const file: BaselineFile = { tool: 'keywarden scan', version: 1, findings };
  return `${JSON.stringify(file, null, 2)}\n`;
}
