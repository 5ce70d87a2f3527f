import type { FastifyInstance } from 'fastify';
import { KeywardenError } from '../errors/index.ts';

/**
 * JSON bodies are decoded strictly: invalid UTF-8 is a 400 (the default parser would turn
 * it into U+FFFD and store altered data), and prototype-poisoning keys are refused.
 */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

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
      parseJson(request, text, (error, value) => {
        if (error)
          done(new KeywardenError('INVALID_JSON', 'the body is not valid JSON'), undefined);
        else done(null, value);
      });
    },
  );
}
