import {
  type MockOpenAI,
  startMockOpenAI,
} from '../../packages/server/src/gateway/testing/mock-openai.ts';
import { announceReady, exitWith } from './lifecycle.ts';

/**
 * The mock OpenAI upstream of the gateway bench, in its own process, so that it shares an
 * event loop with neither the load generator nor the gateway in front of it. It accepts only
 * the API key given as argv[2] (the secret the gateways inject) and waits argv[3] ms between
 * streamed chunks: with no wait the whole stream leaves in one write, and a gateway that
 * buffers a stream would then look exactly like one that passes chunks through.
 */
const [apiKey, chunkDelay = '0'] = process.argv.slice(2);
if (!apiKey) throw new Error('usage: mock-openai.ts <api key> [chunk delay ms]');

let mock: MockOpenAI | undefined;
exitWith(() => mock?.close());
mock = await startMockOpenAI({ apiKey, chunkDelayMs: Number(chunkDelay) });
// The mock keeps every request it received, for tests to inspect: at thousands of requests a
// second that is hundreds of MB within a run, and records that live until a periodic reset()
// get promoted to the old generation, whose collections would show in every p99. Nothing here
// reads them, so the log is made to keep nothing.
Object.defineProperty(mock.requests, 'push', { value: () => 0 });
announceReady({ url: mock.url });
