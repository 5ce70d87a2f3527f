/**
 * At most one call per key at a time: callers asking for a key while its call is in flight
 * share that call's promise. Used for `loadSpent`, so that twenty concurrent first uses of a
 * budget ask the usage store once.
 */
export class SingleFlight<V> {
  readonly #inFlight = new Map<string, Promise<V>>();

  run(key: string, work: () => Promise<V>): Promise<V> {
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    // `work` starts synchronously, so the entry exists before any other caller can look.
    const call = (async () => work())().finally(() => {
      if (this.#inFlight.get(key) === call) this.#inFlight.delete(key);
    });
    this.#inFlight.set(key, call);
    return call;
  }

  get size(): number {
    return this.#inFlight.size;
  }
}
