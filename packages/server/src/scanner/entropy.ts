/**
 * Deciding whether a value assigned to a secret-sounding name is a secret: long enough,
 * random enough (Shannon entropy), and not one of the shapes that fill config files and docs
 * without being credentials (placeholders, references to the environment, words, paths).
 * Pure functions over strings.
 */

/** Shannon entropy in bits per character. */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  const length = [...text].length;
  for (const count of counts.values()) {
    const p = count / length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

export interface EntropyOptions {
  /** Shortest value considered (default 16; hex values need 20 hex digits). */
  minLength?: number;
  /**
   * Bits per character a value of 32+ characters needs (default 4.0). A shorter value needs
   * `log2(length) / 5` of it, since n characters cannot exceed log2(n) bits: 3.2 at 16.
   */
  entropyThreshold?: number;
}

export const DEFAULT_MIN_LENGTH = 16;
export const DEFAULT_ENTROPY_THRESHOLD = 4.0;
/** Hex digits carry at most 4 bits each: random hex of 20+ digits sits at 3.2–3.9. */
const HEX_ENTROPY_THRESHOLD = 3.0;
const HEX_MIN_DIGITS = 20;
const MAX_VALUE_LENGTH = 512;

const HEX = /^[0-9a-f]+$|^[0-9A-F]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Words that mark a value as a stand-in, compared in lower case.
const PLACEHOLDER_WORDS = [
  'changeme',
  'change_me',
  'change-me',
  'example',
  'placeholder',
  'your_',
  'your-',
  'yourapi',
  'yourkey',
  'yoursecret',
  'yourtoken',
  'replace',
  'redacted',
  'dummy',
  'insert',
  'xxxx',
  'process.env',
  'os.environ',
  'getenv',
  'secretref',
  'vault:',
];

/** Five characters in alphabetical or numeric order (`abcde`, `12345`): typed, not drawn. */
function hasKeyboardRun(value: string): boolean {
  let run = 1;
  for (let i = 1; i < value.length; i++) {
    const step = value.charCodeAt(i) - value.charCodeAt(i - 1);
    run = step === 1 && /[0-9A-Za-z]/.test(value[i]!) ? run + 1 : 1;
    if (run >= 5) return true;
  }
  return false;
}

/** Values that stand for a secret rather than being one. */
export function isPlaceholder(value: string): boolean {
  if (/^[$%@]|\$\{|\{\{|\$\(|<[^>]*>|\*{3}|\.{3}|…|\[REDACTED/.test(value)) return true;
  // All one character, or nearly (`aaaaaaaa…`, `0000…`), or typed in order (`abcdefg12345`).
  if (new Set(value).size <= 3 || hasKeyboardRun(value)) return true;
  const lower = value.toLowerCase();
  return PLACEHOLDER_WORDS.some((word) => lower.includes(word));
}

// A word, optionally followed by a small number (`v2`, `prod1`), or a short number.
const WORDY_SEGMENT = /^(?:[A-Za-z]+\d{0,4}|\d{1,4})$/;
// camelCase or PascalCase words, with numbers between or around them.
// Each word after the first starts at a capital or after a number, so that there is one way
// to split a value into words (no backtracking blow-up).
const CAMEL_CASE = /^\d*[A-Z]?[a-z]{2,}(?:\d+[A-Z]?[a-z]{2,}|[A-Z][a-z]{2,})*\d*$/;

/** Identifiers, slugs, versions and paths made of words: readable, so not random. */
export function looksLikeWords(value: string): boolean {
  if (CAMEL_CASE.test(value)) return true;
  const segments = value.split(/[-_./:@+]+/).filter(Boolean);
  return segments.length > 1 && segments.every((s) => WORDY_SEGMENT.test(s));
}

/** URLs, URNs and ARNs, file paths and text with spaces are never taken for a bare secret. */
function looksLikePathOrProse(value: string): boolean {
  return /^(?:[a-z][a-z0-9+.-]*:\/\/|(?:urn|arn|did):|\.{0,2}\/|~\/|[A-Za-z]:\\)|\s/i.test(value);
}

/**
 * The decision: is this value, assigned to a secret-sounding name, a secret? It must be long
 * enough, have letters and digits, look random, and be none of the usual stand-ins.
 */
export function isHighEntropySecret(value: string, options: EntropyOptions = {}): boolean {
  const minLength = options.minLength ?? DEFAULT_MIN_LENGTH;
  const threshold = options.entropyThreshold ?? DEFAULT_ENTROPY_THRESHOLD;
  if (value.length < minLength || value.length > MAX_VALUE_LENGTH) return false;
  if (!/[0-9]/.test(value) || !/[A-Za-z]/.test(value)) return false;
  if (isPlaceholder(value) || looksLikePathOrProse(value) || looksLikeWords(value)) return false;
  const hex = UUID.test(value) ? value.replace(/-/g, '') : value;
  if (HEX.test(hex)) {
    return hex.length >= HEX_MIN_DIGITS && shannonEntropy(hex) >= HEX_ENTROPY_THRESHOLD;
  }
  const needed = threshold * Math.min(1, Math.log2(value.length) / 5);
  return shannonEntropy(value) >= needed;
}
