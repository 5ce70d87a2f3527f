import Fastify from 'fastify';
import { announceReady, exitWith } from './lifecycle.ts';

/**
 * The framework floor: the Fastify version keywarden uses, with one route answering 200 and
 * nothing else (no logger, hooks, plugins or verification). It splits the gap between the bare
 * node:http handler and /v1/auth into "what Fastify costs" and "what keywarden adds on top".
 */
const app = Fastify({ logger: false });
exitWith(() => app.close());
app.all('/v1/auth', async (_request, reply) => reply.code(200).send());

const address = await app.listen({ host: '127.0.0.1', port: 0 });
announceReady({ url: address });
