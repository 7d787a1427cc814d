/**
 * Places for blocking queries: at most `total` held at once, and at most `perToken` by any one
 * token, so one token holder cannot park the authority's connections and memory. `acquire`
 * answers a release function (call it once the query answers), or undefined when full.
 */
export class WatchSlots {
  readonly #total: number;
  readonly #perToken: number;
  readonly #held = new Map<string, number>();
  #count = 0;

  constructor(options: { total: number; perToken: number }) {
    this.#total = options.total;
    this.#perToken = options.perToken;
  }

  /** Blocking queries held now. */
  get size(): number {
    return this.#count;
  }

  /** A place for one more query of `tokenId`, or which limit refused it. */
  acquire(tokenId: string): { release: () => void } | { refused: 'token' | 'total' } {
    const mine = this.#held.get(tokenId) ?? 0;
    if (mine >= this.#perToken) return { refused: 'token' };
    if (this.#count >= this.#total) return { refused: 'total' };
    this.#held.set(tokenId, mine + 1);
    this.#count++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#count--;
        const left = (this.#held.get(tokenId) ?? 1) - 1;
        if (left === 0) this.#held.delete(tokenId);
        else this.#held.set(tokenId, left);
      },
    };
  }
}
