import { Agent, request } from 'node:http';

/**
 * Time to the first chunk: what a user of a chat UI waits before the first token shows. wrk
 * cannot see inside a response, so this small client sends requests one at a time over one
 * keep-alive connection (node:http, nothing in between) and times, for each, from handing the
 * request to the socket to the first body bytes: for a stream (`sse`), the first bytes holding
 * an SSE `data:` line; otherwise the first bytes of the answer. Every answer is read to its end
 * and must be a 200 (a stream must close with `data: [DONE]`), so a gateway that answers an
 * error or cuts a stream short fails the bench instead of looking fast.
 */

export interface TimedRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** A server-sent event stream is expected. */
  sse: boolean;
}

/** Long enough to hold `data: [DONE]` and the blank line after it. */
const TAIL_CHARS = 64;

function timeOne(agent: Agent, timed: TimedRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(timed.body);
    const req = request(timed.url, {
      method: 'POST',
      agent,
      headers: { ...timed.headers, 'content-length': String(body.length) },
    });
    let sentAt = 0;
    req.once('error', reject);
    req.once('response', (res) => {
      let head = '';
      let tail = '';
      let firstMs: number | undefined;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (firstMs === undefined) {
          head += chunk;
          if (!timed.sse || head.includes('data:')) firstMs = performance.now() - sentAt;
        }
        tail = (tail + chunk).slice(-TAIL_CHARS);
      });
      res.once('error', reject);
      res.once('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`${timed.url} answered ${res.statusCode}: ${head.slice(0, 300)}`));
        } else if (firstMs === undefined) {
          reject(new Error(`${timed.url}: an answer without a body`));
        } else if (timed.sse && !/data: \[DONE\]\s*$/.test(tail)) {
          reject(new Error(`${timed.url}: the stream did not end with data: [DONE]`));
        } else {
          resolve(firstMs);
        }
      });
    });
    sentAt = performance.now();
    req.end(body);
  });
}

/** `count` requests in sequence; the ms to the first (`data:`) chunk of each. */
export async function timesToFirstChunk(timed: TimedRequest, count: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const times: number[] = [];
    for (let i = 0; i < count; i++) times.push(await timeOne(agent, timed));
    return times;
  } finally {
    agent.destroy();
  }
}
