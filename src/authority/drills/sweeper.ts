import { PeriodicSweep } from '../../shared/periodic-sweep.ts';
import type { Logger } from '../../shared/logger.ts';
import { systemActor } from '../audit/log.ts';
import type { DrillService } from './service.ts';
import type { Store } from '../store/store.ts';

export interface DrillSweeperOptions {
  drills: DrillService;
  /** `store.exclusive`: authorities sharing a store take turns restoring drills. */
  exclusive: Store['exclusive'];
  logger: Logger;
  /** How often a sweep runs (real time); each sweep reads the injected clock. */
  intervalMs: number;
}

/**
 * Restores drills whose window has ended, as `system`, on a timer. It sweeps once at start,
 * so a drill that ended while the authority was down is restored as soon as it is back.
 * A restore that fails stays active and is tried again on the next sweep.
 */
export class DrillSweeper extends PeriodicSweep {
  readonly #drills: DrillService;
  readonly #exclusive: Store['exclusive'];

  constructor(options: DrillSweeperOptions) {
    super({ what: 'drill sweep', intervalMs: options.intervalMs, logger: options.logger });
    this.#drills = options.drills;
    this.#exclusive = options.exclusive;
  }

  protected async run(): Promise<void> {
    await this.#exclusive('drill-sweeper', async () => {
      await this.#drills.restoreDue(systemActor);
    });
  }
}
