import { type EntropyOptions, isHighEntropySecret } from './entropy.ts';
import { GENERIC_ASSIGNMENT_RULE, GENERIC_BEARER_RULE, type ScanRule } from './rules.ts';

/**
 * Secrets without a format of their own, found by context: a random-looking value assigned
 * to a secret-sounding name (`api_key = "…"`, `client_secret: …`, `"token": "…"`,
 * `DB_PASSWORD=…` in .env, YAML), or written after `Bearer`. Pure: text in, spans out.
 */

export interface GenericMatch {
  rule: ScanRule;
  /** Offsets of the value in the text, end exclusive. */
  start: number;
  end: number;
  value: string;
}

// Where a secret-sounding name may be: found case-insensitively, then widened to the whole
// identifier around it (`STRIPE_SECRET_KEY`, `githubToken`, `spring.datasource.password`).
const NAME_KEYWORD =
  /api[_.-]?key|secret|token|passw(?:or)?d|passphrase|(?:access|private|auth|signing|encryption|master)[_.-]?key/gi;
// A name is taken for a secret's only if nothing but these follows its last keyword
// (compared normalised: lower case, without `_ . -`): `STRIPE_SECRET_KEY`, `client_secret`,
// `SECRET_KEY_BASE`, `password_prod` are secrets; `token_url`, `secret_name`, `apiKeyHeader`,
// `max_tokens`, `tokenizer`, `passwordSha256`, `access_key_id` hold facts about one.
const LAST_KEYWORD =
  /apikey|secret|token|passw(?:or)?d|passphrase|(?:access|private|auth|signing|encryption|master)key/g;
const ALLOWED_AFTER_KEYWORD =
  /^(?:keys?|value|val|str|string|b64|base64|hex|raw|plain|plaintext|prod|production|dev|development|test|staging|live|base|\d+)*$/;

export function isSecretName(name: string): boolean {
  const normalised = name.toLowerCase().replace(/[_.-]/g, '');
  let lastEnd = -1;
  for (const match of normalised.matchAll(LAST_KEYWORD)) {
    lastEnd = (match.index ?? 0) + match[0].length;
  }
  return lastEnd !== -1 && ALLOWED_AFTER_KEYWORD.test(normalised.slice(lastEnd));
}

const MAX_NAME_LENGTH = 64;
const IDENTIFIER_CHAR = /[A-Za-z0-9_.-]/;
// What may sit between the name and a quoted value: `=`, `:`, `:=`, `=>`, `?=` with spaces.
const OPERATOR = /^\s{0,8}(?::=|=>|\?=|=(?!=)|:(?!:))\s{0,8}/;
const UNQUOTED_VALUE = /^[A-Za-z0-9+/=_.~-]+/;
// The start of a line that assigns: indentation, `export `, a YAML list dash, then the name.
const LINE_START_ASSIGNMENT = /^\s*(?:export\s+|-\s+)?["']?$/;

const BEARER = /\b[Bb]earer\s+([A-Za-z0-9._~+/-]{16,}=*)/g;

function isIdentifierChar(char: string | undefined): boolean {
  return char !== undefined && IDENTIFIER_CHAR.test(char);
}

// Every look around a keyword is bounded, so that a megabyte-long line full of keywords
// (minified code, `token=token=…`) costs linear time, not quadratic.
const MAX_LOOK = 1024;
const MAX_INDENT = 32;

/** Index of the `\n` ending the line at `from`, the text's end, or -1 if over `limit` away. */
function lineEndWithin(text: string, from: number, limit: number): number {
  const newline = text.slice(from, from + limit + 1).indexOf('\n');
  if (newline !== -1) return from + newline;
  return text.length - from <= limit ? text.length : -1;
}

/** A quoted value on one line, escapes honoured; null when unterminated or too long. */
function quotedValue(text: string, open: number): { start: number; end: number } | null {
  const quote = text[open];
  const stop = Math.min(text.length, open + MAX_LOOK);
  for (let i = open + 1; i < stop; i++) {
    const char = text[i];
    if (char === '\n') return null;
    if (char === '\\') i++;
    else if (char === quote) return { start: open + 1, end: i };
  }
  return null;
}

/** Whether only indentation, `export `, a YAML dash or a quote precede the name on its line. */
function startsLine(text: string, nameStart: number): boolean {
  const from = Math.max(0, nameStart - MAX_INDENT);
  const before = text.slice(from, nameStart);
  const newline = before.lastIndexOf('\n');
  if (newline === -1 && from > 0) return false;
  return LINE_START_ASSIGNMENT.test(before.slice(newline + 1));
}

interface Assignment {
  /** Where the name ends: the next keyword to look at is after it. */
  nameEnd: number;
  /** The value's offsets, when the name is a secret's and a literal is assigned to it. */
  value: { start: number; end: number } | null;
}

/** The value a literal assignment gives the name around a keyword. */
function valueAfter(text: string, nameStart: number, nameEnd: number): Assignment['value'] {
  let cursor = nameEnd;
  const openingQuote = text[nameStart - 1];
  if ((openingQuote === '"' || openingQuote === "'") && text[cursor] === openingQuote) cursor++;
  const operator = OPERATOR.exec(text.slice(cursor, cursor + 24));
  if (!operator || operator[0].includes('\n')) return null;
  cursor += operator[0].length;

  const first = text[cursor];
  if (first === '"' || first === "'" || first === '`') return quotedValue(text, cursor);
  // Unquoted values only where a whole line assigns (.env, YAML, INI, properties): in code,
  // an unquoted right-hand side is an expression, not a literal.
  if (!startsLine(text, nameStart)) return null;
  const value = UNQUOTED_VALUE.exec(text.slice(cursor, cursor + MAX_LOOK));
  if (!value) return null;
  const end = cursor + value[0].length;
  // The value must end the line, or be followed by a comment.
  const lineEnd = lineEndWithin(text, end, MAX_LOOK);
  const rest = text.slice(end, lineEnd === -1 ? end + MAX_LOOK : lineEnd);
  if (!/^\s*(?:(?:#|\/\/).*)?\r?$/.test(rest) && !/^\s+(?:#|\/\/)/.test(rest)) return null;
  return { start: cursor, end };
}

function assignmentAt(text: string, keywordIndex: number, keywordEnd: number): Assignment {
  let nameStart = keywordIndex;
  while (keywordIndex - nameStart < MAX_NAME_LENGTH && isIdentifierChar(text[nameStart - 1])) {
    nameStart--;
  }
  let nameEnd = keywordEnd;
  while (nameEnd - keywordEnd < MAX_NAME_LENGTH && isIdentifierChar(text[nameEnd])) nameEnd++;
  // The syntax first, the name's meaning last: most keywords are in names never assigned a
  // literal (`this.tokenStore.get()`), and that is the cheaper test.
  const value = valueAfter(text, nameStart, nameEnd);
  return {
    nameEnd,
    value: value && isSecretName(text.slice(nameStart, nameEnd)) ? value : null,
  };
}

export function findGenericSecrets(text: string, options: EntropyOptions = {}): GenericMatch[] {
  const matches: GenericMatch[] = [];
  NAME_KEYWORD.lastIndex = 0;
  let keyword = NAME_KEYWORD.exec(text);
  while (keyword !== null) {
    const found = assignmentAt(text, keyword.index, keyword.index + keyword[0].length);
    // Keywords further inside the same name, or inside its value, need no second look.
    let next = found.nameEnd;
    if (found.value) {
      const { start, end } = found.value;
      const value = text.slice(start, end);
      if (isHighEntropySecret(value, options)) {
        matches.push({ rule: GENERIC_ASSIGNMENT_RULE, start, end, value });
      }
      next = Math.max(next, end);
    }
    NAME_KEYWORD.lastIndex = next;
    keyword = NAME_KEYWORD.exec(text);
  }
  if (text.includes('earer')) {
    for (const match of text.matchAll(BEARER)) {
      const value = match[1] ?? '';
      const start = (match.index ?? 0) + match[0].length - value.length;
      if (isHighEntropySecret(value, options)) {
        matches.push({ rule: GENERIC_BEARER_RULE, start, end: start + value.length, value });
      }
    }
  }
  return matches;
}
