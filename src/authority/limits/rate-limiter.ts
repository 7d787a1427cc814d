import { BoundedLru } from '../../shared/bounded-lru.ts';
import type { Clock } from '../../shared/clock.ts';

/** The tokens tracked at once; a token not seen for a while is forgotten (and starts with a full bucket). */
const trackedTokens = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per API token: `ratePerSecond` requests a second on average, up to `burst` at
 * once. `take` answers 0 when the request may go, else how many milliseconds until it may.
 * Time comes from the injected clock, so tests refill a bucket by moving the clock.
 */
export class TokenRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #clock: Clock;
  readonly #buckets = new BoundedLru<string, Bucket>({ max: trackedTokens });

  constructor(options: { ratePerSecond: number; burst: number; clock: Clock }) {
    this.#rate = options.ratePerSecond;
    this.#burst = options.burst;
    this.#clock = options.clock;
  }

  /** Takes one request from `tokenId`'s bucket; 0 when taken, else the wait in ms before one is there. */
  take(tokenId: string): number {
    const now = this.#clock.now();
    const bucket = this.#buckets.get(tokenId) ?? { tokens: this.#burst, at: now };
    // a clock that went back refills nothing rather than draining the bucket
    const refilled = Math.min(this.#burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * this.#rate);
    if (refilled >= 1) {
      this.#buckets.set(tokenId, { tokens: refilled - 1, at: now });
      return 0;
    }
    this.#buckets.set(tokenId, { tokens: refilled, at: now });
    return Math.ceil(((1 - refilled) / this.#rate) * 1000);
  }
}
