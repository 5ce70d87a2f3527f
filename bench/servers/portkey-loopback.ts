import { type AddressInfo, Server } from 'node:net';
import { announceReady, exitWith } from './lifecycle.ts';

/**
 * Preload (`node --import tsx --import <this>`) for the Portkey open-source gateway, which
 * listens on every interface and has no host option (PEERS.md). Its server's `listen` is
 * forced onto 127.0.0.1, on the port it asked for (the bench passes `--port=0`: any free one),
 * and the address it got is announced on the ready line the bench waits for, like the other
 * servers in this folder. Portkey's own code and settings are untouched.
 */
const HOST = '127.0.0.1';
const listen = Server.prototype.listen;
let announced = false;

function listenOnLoopback(this: Server, ...args: unknown[]): Server {
  const [first] = args;
  const callback = args.find((arg) => typeof arg === 'function');
  const options =
    typeof first === 'object' && first !== null
      ? { ...(first as Record<string, unknown>), host: HOST }
      : { port: Number(first ?? 0), host: HOST };
  if (!announced) {
    announced = true;
    this.once('listening', () => {
      const { port } = this.address() as AddressInfo;
      announceReady({ url: `http://${HOST}:${port}` });
    });
  }
  return (listen as (...a: unknown[]) => Server).call(
    this,
    options,
    ...(callback ? [callback] : []),
  );
}
Server.prototype.listen = listenOnLoopback as typeof Server.prototype.listen;

// Nothing of Portkey's needs flushing: exiting is the whole close.
exitWith(() => undefined);
