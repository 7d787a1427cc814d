/**
 * Work run before the deferred metrics are read (a scrape of `/metrics`, or any `get()`): the
 * per-connection figures are kept as plain numbers on the data path and written into their
 * prom-client series here, so a connection costs a few additions instead of a label hash per
 * metric update. Each hook is idempotent: it runs once per deferred metric read.
 */
export class ScrapeHooks {
  readonly #hooks = new Set<() => void>();

  add(hook: () => void): void {
    this.#hooks.add(hook);
  }

  delete(hook: () => void): void {
    this.#hooks.delete(hook);
  }

  /** Runs every hook; the deferred metrics' `collect`. */
  readonly run = (): void => {
    for (const hook of this.#hooks) hook();
  };
}
