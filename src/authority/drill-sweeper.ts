import type { Logger } from '../shared/logger.ts';
import { systemActor } from './audit.ts';
import type { DrillService } from './drills.ts';

export interface DrillSweeperOptions {
  drills: DrillService;
  logger: Logger;
  /** How often a sweep runs (real time); each sweep reads the injected clock. */
  intervalMs: number;
}

/**
 * Restores drills whose window has ended, as `system`, on a timer. It sweeps once at start,
 * so a drill that ended while the authority was down is restored as soon as it is back.
 * A restore that fails stays active and is tried again on the next sweep.
 */
export class DrillSweeper {
  readonly #o: DrillSweeperOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: DrillSweeperOptions) {
    this.#o = options;
  }

  /** Sweeps now and then every `intervalMs`. */
  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => void this.sweep(), this.#o.intervalMs);
    void this.sweep();
  }

  /** One sweep; overlapping calls share the sweep in progress. Errors are logged, never thrown. */
  sweep(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#running ??= this.#o.drills
      .restoreDue(systemActor)
      .then(() => undefined)
      .catch((err: unknown) => this.#o.logger.error({ err }, 'drill sweep failed; retrying on the next sweep'))
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
