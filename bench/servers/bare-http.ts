import { serveBare } from './lifecycle.ts';

/**
 * The HTTP floor: a node:http handler that answers 200 with an empty body and does nothing
 * else. Whatever keywarden's /v1/auth costs above this is Fastify plus verification. It runs
 * in its own process, started exactly like the keywarden server (node --import tsx), so both
 * pay the same loader and get the same CPU.
 */
serveBare((_request, response) => {
  response.statusCode = 200;
  response.end();
});
