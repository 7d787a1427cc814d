import { PeriodicSweep } from '../shared/periodic-sweep.ts';
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
export class DrillSweeper extends PeriodicSweep {
  readonly #drills: DrillService;

  constructor(options: DrillSweeperOptions) {
    super({ what: 'drill sweep', intervalMs: options.intervalMs, logger: options.logger });
    this.#drills = options.drills;
  }

  protected async run(): Promise<void> {
    await this.#drills.restoreDue(systemActor);
  }
}
