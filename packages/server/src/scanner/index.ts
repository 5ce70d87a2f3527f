/**
 * scanner — finds secrets in text, files, staged changes and git history (`keywarden scan`).
 *
 * Owns: the detector (`detectSecrets`), the sources it reads, the reports it writes (table,
 * JSON, SARIF), baselines, the liveness check and revocation of keywarden keys found (through
 * a `KeyLivenessClient`, i.e. the management API), and the pre-commit hook. It does not define
 * secret formats (core's `SECRET_PATTERNS` and key format do), talk HTTP itself, or touch the
 * store. See README.md.
 */

export type { BaselineEntry, BaselineFile } from './baseline.ts';
export { BaselineError, parseBaseline, serializeBaseline } from './baseline.ts';
export type { KeyCheck, KeyLivenessClient, LiveStatus } from './check.ts';
export {
  checkKeys,
  isManagementKey,
  MANAGEMENT_KEY_PREFIX,
  revocationReason,
  statusForCode,
} from './check.ts';
export type { DetectOptions, Finding } from './detect.ts';
export { ALLOW_MARKERS, detectSecrets, fingerprintOf, isLockfile } from './detect.ts';
export type { EntropyOptions } from './entropy.ts';
export {
  DEFAULT_ENTROPY_THRESHOLD,
  DEFAULT_MIN_LENGTH,
  isHighEntropySecret,
  isPlaceholder,
  shannonEntropy,
} from './entropy.ts';
export { HOOK_MARKER, HookConflict, hookScript, installPreCommitHook } from './hook.ts';
export { FINGERPRINT_KEY, SARIF_SCHEMA, toSarif } from './report/sarif.ts';
export { formatFindingsTable } from './report/table.ts';
export type { ScanRule, SecretKind } from './rules.ts';
export { SCAN_RULES } from './rules.ts';
export type {
  ReportFormat,
  ScanIo,
  ScanOptions,
  ScanProgress,
  ScanResult,
  ScanSummary,
} from './scan.ts';
export { runScan, ScanUsageError } from './scan.ts';
export type { ScanFinding } from './scan-finding.ts';
export { findingToJson } from './scan-finding.ts';
export { DEFAULT_MAX_FILE_SIZE, readFileSources } from './sources/files.ts';
export { GitLogParser, readGitHistory } from './sources/git-history.ts';
export { readStagedSources } from './sources/staged.ts';
export type { ScanSource, SkipReason } from './sources/types.ts';
