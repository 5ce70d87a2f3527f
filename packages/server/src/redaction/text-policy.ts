import { SECRET_PATTERNS } from '@keywarden/core';
import { detectSecrets } from '../scanner/index.ts';

/**
 * What a text field may hold, by what the field is. Pure: used by the HTTP schemas (an Ajv
 * keyword, validator.ts) and by the services the CLI calls directly, so a value gets the same
 * answer on every path.
 *
 * - `identifier`: owner ids, names used as ids, model names. They are stored and shown
 *   as they are (an owner id is also an audit target), so a secret in one cannot be redacted
 *   away: a keywarden key (valid checksum, management keys included) or a provider secret the
 *   scanner knows is refused. No control character at all.
 * - `url`: an identifier that is a URL (an upstream's `baseUrl`): the same, except that the
 *   userinfo part is left to the URL's own validator, which refuses credentials there.
 * - `name`: a display name (a key's `name`, a meta key). A secret in it is redacted on the way
 *   in (`redactDeep`); no control character at all, a name is one line.
 * - `text`: free text (meta values, reasons). Redacted on the way in; tab, line feed and
 *   carriage return are allowed, other control characters are not.
 *
 * Lone surrogates (a `"\ud800"` JSON escape) are refused everywhere: they are not Unicode,
 * PostgreSQL refuses them, and they turn into U+FFFD on the next round trip.
 */
export type TextKind = 'identifier' | 'url' | 'name' | 'text';

export const TEXT_KINDS: readonly TextKind[] = ['identifier', 'url', 'name', 'text'];

// `scheme://user:password@`: credentials in a URL are the URL validator's to refuse (as
// such, whatever they look like); the rest of a `url` is checked as an identifier.
const URL_USERINFO = /^([a-z][a-z0-9+.-]{0,31}:\/\/)[^/?#@]*@/i;

const CONTROL = 'contains a control character';
const SURROGATE = 'contains a lone surrogate (not valid Unicode text)';

/**
 * One pass over the UTF-16 units: Cc (C0 controls, DEL, C1 controls — NUL in particular: C
 * strings and PostgreSQL stop there), then surrogates that are not part of a pair. Tab, line
 * feed and carriage return pass where `whitespace` allows them.
 */
function characterFault(text: string, whitespace: boolean): string | null {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      if (whitespace && (c === 0x09 || c === 0x0a || c === 0x0d)) continue;
      return CONTROL;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else return SURROGATE;
    }
  }
  return null;
}

// Every secret the scanner's exact rules find contains one of these (a keywarden key its
// `_`s, a provider format its pattern's triggers, which core's redaction relies on the same
// way), compared case-insensitively so the filter is never narrower than the rules. Most ids
// and addresses contain none: the check costs a few `includes` instead of the scanner's
// ~3.5 µs, which matters on `POST /v1/verify`'s `ip`.
const SECRET_TRIGGERS = [
  '_',
  ...new Set(SECRET_PATTERNS.flatMap((p) => p.triggers.map((t) => t.toLowerCase()))),
];

/** The kind of the first secret found in `text` (`keywarden`, `openai` …), or null. */
export function secretKindIn(text: string): string | null {
  const lower = text.toLowerCase();
  if (!SECRET_TRIGGERS.some((trigger) => lower.includes(trigger))) return null;
  const [finding] = detectSecrets(text, { generic: false });
  return finding ? finding.kind : null;
}

/**
 * Why `text` may not be stored in a field of this kind, or null if it may. The reason never
 * quotes the text: it ends up in an error answer.
 */
export function textFault(text: string, kind: TextKind): string | null {
  const characters = characterFault(text, kind === 'text');
  if (characters !== null) return characters;
  if (kind === 'identifier' || kind === 'url') {
    const secret = secretKindIn(kind === 'url' ? text.replace(URL_USERINFO, '$1') : text);
    if (secret !== null)
      return secret === 'keywarden'
        ? 'holds a keywarden key; this field is stored as given, so a key may not be in it'
        : `holds what looks like a ${secret} secret; this field is stored as given, so a secret may not be in it`;
  }
  return null;
}

/** A fault somewhere in a JSON value: the JSON pointer below `value` and the reason. */
export interface JsonTextFault {
  pointer: string;
  message: string;
}

const escapePointer = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Walks a free-form JSON value (a key's `meta`): object keys are names, strings are text.
 * Returns the first fault, with where it is. Object keys longer than `maxKeyLength` are a
 * fault too (the schema's key length does not survive into JSON Schema for records).
 */
export function jsonTextFault(
  value: unknown,
  maxKeyLength = 100,
  pointer = '',
): JsonTextFault | null {
  if (typeof value === 'string') {
    const message = textFault(value, 'text');
    return message ? { pointer, message } : null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const fault = jsonTextFault(value[i], maxKeyLength, `${pointer}/${i}`);
      if (fault) return fault;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      // The pointer of a bad key is its parent's: the key itself may be what must not be shown.
      const keyFault =
        key.length > maxKeyLength
          ? `is longer than ${maxKeyLength} characters`
          : textFault(key, 'name');
      if (keyFault) return { pointer, message: `a field name ${keyFault}` };
      const fault = jsonTextFault(item, maxKeyLength, `${pointer}/${escapePointer(key)}`);
      if (fault) return fault;
    }
  }
  return null;
}
