import { PortwardenError } from '../../shared/errors.ts';

/** A client told to come back retries after this long once the blocking queries are full. */
export const watchRetryAfterMs = 5_000;

/**
 * Places for blocking queries: at most `total` (`limits.max_watches`) held at once, and at most
 * `perToken` (`limits.max_watches_per_token`) by any one token, so one token holder cannot park
 * the authority's connections and memory.
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

  /**
   * A place for one more query of `tokenId`: call `release` once it answers (twice is harmless).
   * Full: 429 `too_many_watches`, naming the limit, with `Retry-After`.
   */
  hold(tokenId: string): { release: () => void } {
    const mine = this.#held.get(tokenId) ?? 0;
    if (mine >= this.#perToken) refuse(`this token holds ${this.#perToken} blocking queries (limits.max_watches_per_token)`);
    if (this.#count >= this.#total) refuse(`the authority holds ${this.#total} blocking queries (limits.max_watches)`);
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

function refuse(what: string): never {
  throw new PortwardenError('too_many_watches', `${what}; retry later`, { retryAfterMs: watchRetryAfterMs });
}
