import { PeriodicSweep } from '../../shared/periodic-sweep.ts';
import { isPortwardenError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { systemActor } from '../audit/log.ts';
import type { Store } from '../store/store.ts';
import type { RegisterService } from './service.ts';

export interface RegisterSweeperOptions {
  register: RegisterService;
  /** `store.exclusive`: authorities sharing a store take turns ending transitions. */
  exclusive: Store['exclusive'];
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
export class RegisterSweeper extends PeriodicSweep {
  readonly #o: RegisterSweeperOptions;

  constructor(options: RegisterSweeperOptions) {
    super({ what: 'register sweep', intervalMs: options.intervalMs, logger: options.logger });
    this.#o = options;
  }

  protected async run(): Promise<void> {
    await this.#o.exclusive('register-sweeper', () => this.#endTransitions());
  }

  async #endTransitions(): Promise<void> {
    const { register, logger } = this.#o;
    for (const id of await register.transitionsDue()) {
      if (this.stopped) return;
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
