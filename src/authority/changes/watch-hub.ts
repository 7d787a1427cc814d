/**
 * Blocking-query waiters (Consul style). A request that has seen the state up to index N parks
 * here until a change of its service after N is announced, its wait passes, the client goes
 * away, or the hub closes. `notify` runs right after a commit, so a change wakes every waiter
 * of that service in the same tick.
 */

/** Why a wait ended. */
export type WakeReason = 'changed' | 'timeout' | 'aborted' | 'closed';

/** The key of waiters that watch every service (an admin listing all licenses). */
const allServices = '\u0000all';

interface Waiter {
  afterIndex: number;
  wake(reason: WakeReason): void;
}

export class WatchHub {
  readonly #waiters = new Map<string, Set<Waiter>>();
  #count = 0;
  #closed = false;
  #generation = 0;

  /** Counts announced changes; a read begun before the latest one may be stale. */
  get generation(): number {
    return this.#generation;
  }

  /** Waiting requests, for the `portwarden_authority_watchers` gauge. */
  get size(): number {
    return this.#count;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Parks until `service` (or any service, when undefined) changes after `afterIndex`.
   * Register the wait *before* reading the store and drop it with `signal` if the read already
   * shows a change: that way no commit can slip between the read and the wait.
   */
  wait(service: string | undefined, afterIndex: number, timeoutMs: number, signal?: AbortSignal): Promise<WakeReason> {
    if (this.#closed) return Promise.resolve('closed');
    if (signal?.aborted) return Promise.resolve('aborted');
    const key = service ?? allServices;
    return new Promise<WakeReason>((resolve) => {
      const done = (reason: WakeReason) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const set = this.#waiters.get(key);
        if (set?.delete(waiter)) {
          this.#count--;
          if (set.size === 0) this.#waiters.delete(key);
        }
        resolve(reason);
      };
      const waiter: Waiter = { afterIndex, wake: done };
      const onAbort = () => done('aborted');
      const timer = setTimeout(() => done('timeout'), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      let set = this.#waiters.get(key);
      if (!set) this.#waiters.set(key, (set = new Set()));
      set.add(waiter);
      this.#count++;
    });
  }

  /** Announces that `service` changed at `index`: wakes its waiters and every all-services waiter behind it. */
  notify(service: string, index: number): void {
    this.#generation++;
    for (const key of [service, allServices]) {
      const set = this.#waiters.get(key);
      if (!set) continue;
      for (const waiter of [...set]) if (index > waiter.afterIndex) waiter.wake('changed');
    }
  }

  /** Releases every waiter (they answer with the current state) and refuses new ones. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const set of [...this.#waiters.values()]) for (const waiter of [...set]) waiter.wake('closed');
  }
}
