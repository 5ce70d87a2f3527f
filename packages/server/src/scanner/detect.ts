import { createHash } from 'node:crypto';
import { checkKeyFormat, displayKey, redactSecrets } from '@keywarden/core';
import type { EntropyOptions } from './entropy.ts';
import { findGenericSecrets } from './generic.ts';
import { KEYWARDEN_RULE, PATTERN_RULE_LIST, type ScanRule, type SecretKind } from './rules.ts';

/**
 * The detector: text in, findings out. No I/O, no clock. Keywarden keys are confirmed by their
 * checksum (a look-alike is never reported); third-party formats come from core's
 * `SECRET_PATTERNS`; the generic rule looks at values assigned to secret-sounding names.
 *
 * A finding holds the matched secret so that `--check` can ask the server about it, but the
 * property is not enumerable: `JSON.stringify`, `console.log` and spreads never carry it.
 * Reports use `redacted` and `fingerprint` only.
 */

export interface Finding {
  readonly ruleId: string;
  readonly kind: SecretKind;
  /** 1-based line and column (UTF-16 code units, as SARIF's default), of the first character. */
  readonly line: number;
  readonly column: number;
  /** 1-based line and column just past the last character. */
  readonly endLine: number;
  readonly endColumn: number;
  /** Safe to print: a keywarden display form (`kw_prod_…uOupm`) or `[REDACTED:<kind>]`. */
  readonly redacted: string;
  /** sha256 hex of the rule id and the secret: what baselines store, never the secret. */
  readonly fingerprint: string;
  /** Kept in memory only (non-enumerable). */
  readonly secret: string;
}

export interface DetectOptions extends EntropyOptions {
  /** The text's path, if any: lockfiles skip the generic rule (they are full of hashes). */
  path?: string;
  /** The entropy-based rule (default on). */
  generic?: boolean;
}

/** A line holding one of these is skipped: ours, and gitleaks' for repositories that use it. */
export const ALLOW_MARKERS: readonly string[] = Object.freeze([
  'keywarden:allow',
  'gitleaks:allow',
]);

const LOCKFILE =
  /(?:^|\/)(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?|Cargo\.lock|Gemfile\.lock|poetry\.lock|Pipfile\.lock|composer\.lock|go\.sum|flake\.lock|[^/]+\.lock)$/;

export function isLockfile(path: string): boolean {
  return LOCKFILE.test(path.replace(/\\/g, '/'));
}

// The environment and tail of a key (`_prod_<36 base62>`): KEY_CANDIDATE_REGEX from its
// second part on. Starting the search at a literal `_` lets the regex engine skip ahead fast;
// the prefix is then read backwards. Unlike KEY_CANDIDATE_REGEX it needs no word boundary, so
// a key glued to other characters (`\nkw_prod_…` in an escaped string, `TOKEN_kw_prod_…`) is
// still found: the checksum keeps that from costing precision.
const KEY_TAIL = /_[a-z]{2,10}_[0-9A-Za-z]{36}/g;
const MAX_PREFIX = 12;

function isLowerOrDigit(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 48 && code <= 57);
}

export function fingerprintOf(ruleId: string, secret: string): string {
  return createHash('sha256').update(`${ruleId}\0${secret}`).digest('hex');
}

function redactedFormOf(kind: SecretKind, secret: string): string {
  if (kind === 'keywarden') return displayKey(secret);
  const redacted = redactSecrets(secret);
  return /^\[REDACTED(?::[a-z0-9-]+)?\]$/.test(redacted) ? redacted : `[REDACTED:${kind}]`;
}

interface Span {
  rule: ScanRule;
  start: number;
  end: number;
}

/** Every substring that `checkKeyFormat` accepts, KEY_CANDIDATE_REGEX's matches included. */
function keywardenKeys(text: string): Span[] {
  const spans: Span[] = [];
  if (!text.includes('_')) return spans;
  KEY_TAIL.lastIndex = 0;
  let match = KEY_TAIL.exec(text);
  while (match !== null) {
    const tailStart = match.index;
    const end = tailStart + match[0].length;
    let from = tailStart;
    while (from > 0 && tailStart - from < MAX_PREFIX && isLowerOrDigit(text.charCodeAt(from - 1))) {
      from--;
    }
    // The longest prefix first; letters before the key (`n` of an escaped `\n`) are dropped
    // one by one. A prefix starts with a letter and has at least two characters.
    let start = -1;
    for (let at = from; at <= tailStart - 2; at++) {
      const code = text.charCodeAt(at);
      if (code >= 97 && code <= 122 && checkKeyFormat(text.slice(at, end)).ok) {
        start = at;
        break;
      }
    }
    if (start >= 0) {
      spans.push({ rule: KEYWARDEN_RULE, start, end });
      KEY_TAIL.lastIndex = end;
    } else {
      // The tail's 36 characters may hold the start of a real key's prefix.
      KEY_TAIL.lastIndex = tailStart + 1;
    }
    match = KEY_TAIL.exec(text);
  }
  return spans;
}

const BASE64_CHAR = /[A-Za-z0-9+/]/g;
const MIN_PRIVATE_KEY_BODY = 64;
const PEM_HEADER_LINE = /^\s*[A-Za-z-]+:\s/;
const PEM_FOOTER = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----$/;
const BASE64_LINE = /^\s*[A-Za-z0-9+/=]{16,}\s*$/;

/**
 * Core's private key pattern errs towards redacting: without an END marker it runs to the end
 * of the text. A scanner must not report `'-----BEGIN PRIVATE KEY-----'` in a test or a doc,
 * so a block counts only with a key's worth of base64 in it; an unterminated one is cut after
 * the base64 lines that follow its header.
 */
function confirmPrivateKey(text: string, start: number, end: number): Span['end'] | null {
  const block = text.slice(start, end);
  const headerEnd = block.indexOf('-----', 11) + 5;
  const footer = PEM_FOOTER.exec(block);
  if (footer) {
    // The body must be base64 (PEM headers and JSON's `\n` escapes aside), not code that
    // builds a key at run time between two literal markers.
    const body = block
      .slice(headerEnd, footer.index)
      .replace(/\\[nr]/g, '\n')
      .split('\n')
      .filter((line) => !PEM_HEADER_LINE.test(line))
      .join('')
      .replace(/\s+/g, '');
    const base64 = body.match(BASE64_CHAR)?.length ?? 0;
    return base64 >= MIN_PRIVATE_KEY_BODY && base64 >= 0.95 * body.replace(/=/g, '').length
      ? end
      : null;
  }
  const firstNewline = text.indexOf('\n', start + headerEnd);
  if (firstNewline === -1) return null;
  let lineStart = firstNewline + 1;
  let base64 = 0;
  let bodyEnd = -1;
  while (lineStart < text.length) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline === -1 ? text.length : newline;
    const line = text.slice(lineStart, lineEnd);
    if (BASE64_LINE.test(line)) {
      base64 += line.trim().length;
      bodyEnd = text[lineEnd - 1] === '\r' ? lineEnd - 1 : lineEnd;
    } else if (base64 > 0 || !(line.trim() === '' || PEM_HEADER_LINE.test(line))) {
      break;
    }
    if (newline === -1) break;
    lineStart = newline + 1;
  }
  return base64 >= MIN_PRIVATE_KEY_BODY ? bodyEnd : null;
}

// Documentation stand-ins in a token's shape: `sk_test_xxxx…`, AWS's `…EXAMPLE` key id,
// `ghp_0000…`. Eight equal characters in a row are all but impossible in a random token.
const PLACEHOLDER_TOKEN = /(.)\1{7}|\*{4}|\.{3}|…|<[^>]*>|\$\{|EXAMPLE|example/;

export function isPlaceholderToken(token: string): boolean {
  return PLACEHOLDER_TOKEN.test(token);
}

// Every pattern's trigger substrings in one alternation: one pass over the text tells which
// patterns can match, instead of one `includes` per trigger.
const TRIGGER_OWNERS = new Map<string, number[]>();
PATTERN_RULE_LIST.forEach(({ pattern }, index) => {
  for (const trigger of pattern.triggers) {
    TRIGGER_OWNERS.set(trigger, [...(TRIGGER_OWNERS.get(trigger) ?? []), index]);
  }
});
const ANY_TRIGGER = new RegExp(
  [...TRIGGER_OWNERS.keys()]
    .sort((a, b) => b.length - a.length)
    .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|'),
  'g',
);

function triggeredPatterns(text: string): Set<number> {
  const triggered = new Set<number>();
  for (const [trigger] of text.matchAll(ANY_TRIGGER)) {
    for (const index of TRIGGER_OWNERS.get(trigger) ?? []) triggered.add(index);
    if (triggered.size === PATTERN_RULE_LIST.length) break;
  }
  return triggered;
}

function patternSpans(text: string): Span[] {
  const spans: Span[] = [];
  const triggered = triggeredPatterns(text);
  for (const [index, { pattern, rule }] of PATTERN_RULE_LIST.entries()) {
    if (!triggered.has(index)) continue;
    for (const match of text.matchAll(pattern.regex)) {
      const start = match.index ?? 0;
      let end: number | null = start + match[0].length;
      if (rule.kind === 'private-key') end = confirmPrivateKey(text, start, end);
      else if (isPlaceholderToken(match[0])) end = null;
      if (end !== null) spans.push({ rule, start, end });
    }
  }
  return spans;
}

/** Offsets of line starts, built once per text that has something to report. */
function lineStarts(text: string): number[] {
  const starts = [0];
  let at = text.indexOf('\n');
  while (at !== -1) {
    starts.push(at + 1);
    at = text.indexOf('\n', at + 1);
  }
  return starts;
}

function lineIndexOf(starts: readonly number[], offset: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) low = mid;
    else high = mid - 1;
  }
  return low;
}

function lineText(text: string, starts: readonly number[], index: number): string {
  const start = starts[index] ?? 0;
  const next = starts[index + 1];
  return text.slice(start, next === undefined ? text.length : next - 1);
}

function hasAllowMarker(line: string): boolean {
  return ALLOW_MARKERS.some((marker) => line.includes(marker));
}

export function makeFinding(
  rule: ScanRule,
  secret: string,
  position: { line: number; column: number; endLine: number; endColumn: number },
): Finding {
  const finding = {
    ruleId: rule.id,
    kind: rule.kind,
    ...position,
    redacted: redactedFormOf(rule.kind, secret),
    fingerprint: fingerprintOf(rule.id, secret),
  };
  Object.defineProperty(finding, 'secret', { value: secret, enumerable: false });
  return finding as Finding;
}

/**
 * Keeps each span that overlaps none kept before it (earlier spans win), in text order. The
 * kept spans stay sorted and disjoint, so each check is a binary search.
 */
function acceptNonOverlapping(spans: readonly Span[]): Span[] {
  const kept: Span[] = [];
  for (const span of spans) {
    let low = 0;
    let high = kept.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((kept[mid]?.start ?? 0) < span.start) low = mid + 1;
      else high = mid;
    }
    const before = kept[low - 1];
    const after = kept[low];
    if (before && before.end > span.start) continue;
    if (after && after.start < span.end) continue;
    kept.splice(low, 0, span);
  }
  return kept;
}

/**
 * Finds secrets in one text. Where spans overlap, the most certain rule wins: a confirmed
 * keywarden key (a project prefix may look like `sk_live_`), then core's formats in core's
 * order, then the generic rule. Findings come in text order.
 */
export function detectSecrets(text: string, options: DetectOptions = {}): Finding[] {
  const candidates = [...keywardenKeys(text), ...patternSpans(text)];
  const generic =
    options.generic !== false && !(options.path !== undefined && isLockfile(options.path));
  if (generic) {
    for (const match of findGenericSecrets(text, options)) candidates.push(match);
  }
  if (candidates.length === 0) return [];

  const accepted = acceptNonOverlapping(candidates);

  const starts = lineStarts(text);
  const findings: Finding[] = [];
  for (const span of accepted) {
    const line = lineIndexOf(starts, span.start);
    const endLine = lineIndexOf(starts, Math.max(span.start, span.end - 1));
    if (hasAllowMarker(lineText(text, starts, line))) continue;
    if (endLine !== line && hasAllowMarker(lineText(text, starts, endLine))) continue;
    findings.push(
      makeFinding(span.rule, text.slice(span.start, span.end), {
        line: line + 1,
        column: span.start - (starts[line] ?? 0) + 1,
        endLine: endLine + 1,
        endColumn: span.end - (starts[endLine] ?? 0) + 1,
      }),
    );
  }
  return findings;
}
