import type { FastifyInstance } from 'fastify';
import { KeywardenError } from '../errors/index.ts';

/**
 * JSON bodies are decoded strictly: invalid UTF-8 is a 400 (the default parser would turn
 * it into U+FFFD and store altered data), prototype-poisoning keys are refused, and so is
 * nesting deeper than MAX_JSON_DEPTH: every walker of a body (validation of `meta`,
 * redaction, the idempotency fingerprint) recurses, and 5,000 nested arrays fit in 64 KiB.
 */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of arrays and objects in JSON text, read in one pass (no recursion). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

export function registerJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    (request, body: Buffer | string, done) => {
      let text: string;
      try {
        text = typeof body === 'string' ? body : strictUtf8.decode(body);
      } catch {
        done(new KeywardenError('INVALID_UTF8'), undefined);
        return;
      }
      if (text.trim() === '') {
        done(null, null);
        return;
      }
      if (jsonDepth(text) > MAX_JSON_DEPTH) {
        done(
          new KeywardenError('INVALID_JSON', `the body nests deeper than ${MAX_JSON_DEPTH} levels`),
          undefined,
        );
        return;
      }
      parseJson(request, text, (error, value) => {
        if (error)
          done(new KeywardenError('INVALID_JSON', 'the body is not valid JSON'), undefined);
        else done(null, value);
      });
    },
  );
}
