import { redactSecrets } from '@keywarden/core';

/** Longest route or user agent kept, in UTF-16 code units. */
export const USAGE_TEXT_MAX = 200;

/**
 * The form in which a route or user agent is stored: redacted first, then cut. The order
 * matters: cutting first could split a key so that the redactor no longer recognises it.
 */
export function usageText(value: string | null): string | null {
  if (value === null) return null;
  return truncate(redactSecrets(value), USAGE_TEXT_MAX);
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never leave half a surrogate pair at the end.
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}
