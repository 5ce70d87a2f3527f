import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { generateKey } from '@keywarden/core';
import { createLogger } from './index.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _e, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), text: () => lines.join('') };
}

test('keys are removed from headers, bodies, URLs, messages and errors', () => {
  const key = generateKey({ prefix: 'kw', env: 'prod' });
  const { logger, text } = capture();
  logger.info(
    {
      req: { method: 'GET', url: `/x?api_key=${key}`, headers: { authorization: `Bearer ${key}` } },
    },
    'request',
  );
  logger.info({ headers: { 'x-api-key': key } }, 'headers');
  logger.info({ body: { key } }, 'body');
  logger.info(`presented ${key}`);
  logger.error({ err: new Error(`bad key ${key}`) }, 'failure');
  const out = text();
  assert.ok(out.length > 0);
  assert.equal(out.includes(key), false);
  assert.equal(out.includes(key.slice(8, 30)), false);
  assert.match(out, /kw_prod_…/);
});

test('a request logged after its answer: the captured address, and no throw from a gone socket', () => {
  const { logger, text } = capture();
  // Fastify's `ip` behind trusted proxies throws once the socket is detached.
  const gone = (clientIp?: string) =>
    Object.defineProperty({ method: 'POST', url: '/v1/keys', clientIp }, 'ip', {
      enumerable: true,
      get(): string {
        throw new TypeError("Cannot read properties of null (reading 'remoteAddress')");
      },
    });
  assert.doesNotThrow(() => logger.info({ req: gone('203.0.113.7') }, 'a'));
  assert.doesNotThrow(() => logger.info({ req: gone() }, 'b'));
  assert.match(text(), /"ip":"203\.0\.113\.7"/);
});
