import type { Logger } from './logger.ts';

/**
 * Upkeep that runs now and then every `intervalMs` of real time (each run reads the injected
 * clock itself): one run at a time, errors logged and never thrown, the next run tries again.
 * The authority's renewer, register sweeper and drill sweeper are these.
 */
export abstract class PeriodicSweep {
  readonly #what: string;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  protected constructor(options: { what: string; intervalMs: number; logger: Logger }) {
    this.#what = options.what;
    this.#intervalMs = options.intervalMs;
    this.#logger = options.logger;
  }

  /** One run of the upkeep. */
  protected abstract run(): Promise<void>;

  /** True once `close` was called; a long run checks it between steps. */
  protected get stopped(): boolean {
    return this.#stopped;
  }

  /** Sweeps now and then every `intervalMs`. */
  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => void this.sweep(), this.#intervalMs);
    void this.sweep();
  }

  /** One sweep; overlapping calls share the sweep in progress. Errors are logged, never thrown. */
  sweep(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#running ??= this.run()
      .catch((err: unknown) => this.#logger.error({ err }, `${this.#what} failed; trying again on the next sweep`))
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  /** Stops the timer and waits for a sweep in progress. Idempotent. */
  async close(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
