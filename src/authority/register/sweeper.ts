import { isPortwardenError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { systemActor } from '../audit.ts';
import type { RegisterService } from './service.ts';

export interface RegisterSweeperOptions {
  register: RegisterService;
  logger: Logger;
  /** How often a sweep runs (real time); each sweep reads the injected clock. */
  intervalMs: number;
}

/**
 * Ends transitions whose window has passed: the old number is released and its licenses are
 * revoked (audited as `port.transition.complete` by `system`, reason `window_ended`). The
 * window lives in the store, so a transition that ends while the authority is down is
 * completed by the first sweep after it starts again.
 */
export class RegisterSweeper {
  readonly #o: RegisterSweeperOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: RegisterSweeperOptions) {
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
    this.#running ??= this.#sweep()
      .catch((err: unknown) => this.#o.logger.error({ err }, 'register sweep failed'))
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

  async #sweep(): Promise<void> {
    const { register, logger } = this.#o;
    for (const id of await register.transitionsDue()) {
      if (this.#stopped) return;
      try {
        const port = await register.completeTransition(systemActor, { id }, 'window_ended');
        logger.info({ port: id, sub: `${port.service}/${port.name}`, env: port.env, number: port.number }, 'transition window ended; old number released');
      } catch (err) {
        // an admin completed or cancelled it between the read and the change
        if (isPortwardenError(err, 'conflict')) continue;
        logger.warn({ err, port: id }, 'ending a transition failed');
      }
    }
  }
}
