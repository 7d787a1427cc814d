// Follows the authority's change index with its blocking query (`GET /v1/changes?index=N`),
// so a change made anywhere — the CLI, another console, the renewer — redraws the open page
// within a round trip, and nothing polls in between.

import { ApiError } from './api.js';

/** How long one blocking query is held; the answer also refreshes what telemetry changed. */
const waitSeconds = 30;

/** @typedef {'live' | 'reconnecting'} LiveStatus */

export class ChangeFollower {
  /**
   * @param {import('./api.js').Api} api
   * @param {{ onChange: () => void, onStatus: (status: LiveStatus) => void, onUnauthorized: () => void }} handlers
   */
  constructor(api, handlers) {
    this.api = api;
    this.handlers = handlers;
    this.stop = new AbortController();
  }

  /** Starts following from the current index; runs until `close`. */
  async run() {
    let index = 0;
    let failures = 0;
    const { signal } = this.stop;
    while (!signal.aborted) {
      try {
        /** @type {{ index: number }} */
        const answer = await this.api.get(`/v1/changes?index=${index}&wait=${waitSeconds}s`, { signal });
        if (failures > 0 || index === 0) this.handlers.onStatus('live');
        failures = 0;
        // every answer after the first may carry news: a change (index moved), or 30s of telemetry
        if (index !== 0) this.handlers.onChange();
        index = answer.index;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && err.status === 401) return this.handlers.onUnauthorized();
        failures++;
        this.handlers.onStatus('reconnecting');
        // 0.5s, 1s, 2s … at most 10s between tries while the authority is away
        await sleep(Math.min(10_000, 250 * 2 ** failures), signal);
      }
    }
  }

  close() {
    this.stop.abort();
  }
}

/**
 * @param {number} ms
 * @param {AbortSignal} signal
 */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve(undefined)), { once: true });
  });
}
