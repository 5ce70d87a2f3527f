/**
 * redaction — what user-supplied text may hold before it is stored: `redactDeep` for free
 * text (core's one redaction list, applied to values and object keys) and the text policy
 * (`textFault`: identifiers refuse secrets; control characters and lone surrogates are refused
 * everywhere). Formats of secrets are core's and the scanner's, not defined here.
 */
import { redactSecrets } from '@keywarden/core';

export {
  type JsonTextFault,
  jsonTextFault,
  secretKindIn,
  TEXT_KINDS,
  type TextKind,
  textFault,
} from './text-policy.ts';

/**
 * Applies core's one redaction function to every string inside a JSON-like value, object
 * keys included. Used wherever user-supplied free text is kept (key names and metadata,
 * audit details): a pasted key must not end up stored in plaintext through a side door —
 * and `{ "kw_prod_…": true }` is as much a side door as `{ "note": "kw_prod_…" }`.
 */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [redactSecrets(k), redactDeep(v)]),
    ) as T;
  }
  return value;
}
