/**
 * Concurrent calls for one key share one run of the work: a burst of requests that each need
 * the same store read (10,000 sidecars of one service asking again after a change) makes one
 * read while it is in flight instead of one each. Nothing is kept once the work settles: the
 * next call after that runs it again, so nothing is served staler than a read in progress.
 */
export class SingleFlight<K, V> {
  readonly #inFlight = new Map<K, Promise<V>>();

  /** The in-flight run for `key`, or a new run of `work`; its result or error goes to every caller. */
  run(key: K, work: () => Promise<V>): Promise<V> {
    let flight = this.#inFlight.get(key);
    if (flight === undefined) {
      flight = work();
      this.#inFlight.set(key, flight);
      const forget = () => {
        if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key);
      };
      flight.then(forget, forget);
    }
    return flight;
  }

  /**
   * After a write the reads in flight may predate: later callers start a run of their own
   * rather than join one begun before the write (those already waiting keep theirs).
   */
  forget(key?: K): void {
    if (key === undefined) this.#inFlight.clear();
    else this.#inFlight.delete(key);
  }
}
