import type { Clock } from '../../shared/clock.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { indexUses, usesFromRecords, type UseIndex } from '../../register/number-use.ts';
import type { PortRecord } from '../../register/port-record.ts';
import type { Counter } from 'prom-client';

/** The register's ports as one read saw them, and their numbers indexed. */
export interface RegisterReading {
  ports: readonly PortRecord[];
  index: UseIndex;
  /** `service env` of every port requested, active or transitioning (static or ephemeral). */
  liveServices: ReadonlySet<string>;
  /** When the read began (clock milliseconds). */
  readAt: number;
}

/** The reading a review is judged by; `staleNote` says why it is older than it should be. */
export interface ViewAnswer {
  reading: RegisterReading;
  staleNote?: string | undefined;
}

export interface RegisterViewOptions {
  /** Reads every port of the register (one store read). */
  read(): Promise<readonly PortRecord[]>;
  clock: Clock;
  /** A reading older than this is read again before it is used. */
  maxStalenessMs: number;
  /** How long a review waits for a new reading when it holds an older one to fall back on. */
  waitBudgetMs: number;
  logger: Logger;
  refreshes: Counter<'result'>;
}

/**
 * The register held in memory for admission reviews, so a review reads no store while the
 * view is fresh: no change announced since the last reading (`invalidate`, called for every
 * register change this authority commits and those other authorities announce through the
 * store) and younger than `maxStalenessMs`. Otherwise the next review reads again, and every
 * review arriving meanwhile shares that one read.
 *
 * Reviews must answer within the API server's timeout: while a read is slow or failing, a
 * review waits at most `waitBudgetMs` and is then judged by the previous reading, with a note
 * saying how old it is. With no reading at all yet, it waits for the first one, or fails with
 * `unavailable` when that read fails.
 */
export class RegisterView {
  readonly #o: RegisterViewOptions;
  #reading: RegisterReading | undefined;
  /** Bumped by every announced change; a reading is current when it began after the last one. */
  #generation = 0;
  #readingGeneration = -1;
  #inFlight: Promise<RegisterReading> | undefined;
  #lastError: string | undefined;

  constructor(options: RegisterViewOptions) {
    this.#o = options;
  }

  /** A register change was announced: the next review reads again. */
  invalidate(): void {
    this.#generation++;
  }

  /** True when the held reading may be used without reading the store. */
  get fresh(): boolean {
    const reading = this.#reading;
    if (!reading || this.#readingGeneration !== this.#generation) return false;
    return this.#o.clock.now() - reading.readAt < this.#o.maxStalenessMs;
  }

  /** The reading to judge by (see the class comment). */
  async current(): Promise<ViewAnswer> {
    const held = this.#reading;
    if (held && this.fresh) return { reading: held };
    const next = this.#refresh();
    if (!held) {
      try {
        return { reading: await next };
      } catch (err) {
        throw new PortwardenError('unavailable', `the register cannot be read for admission reviews: ${describe(err)}`, { cause: err });
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.#o.waitBudgetMs)));
    try {
      const got = await Promise.race([next, late]).catch(() => 'failed' as const);
      if (got !== 'late' && got !== 'failed') return { reading: got };
      const age = Math.max(0, Math.round((this.#o.clock.now() - held.readAt) / 1000));
      const why = got === 'late' ? 'reading it again is taking long' : `reading it again failed: ${this.#lastError ?? 'unknown error'}`;
      return { reading: held, staleNote: `judged against the register as read ${age}s ago (${why})` };
    } finally {
      clearTimeout(timer);
    }
  }

  #refresh(): Promise<RegisterReading> {
    this.#inFlight ??= (async () => {
      const generation = this.#generation;
      const readAt = this.#o.clock.now();
      try {
        const ports = await this.#o.read();
        const live = ports.filter((port) => port.state === 'requested' || port.state === 'active' || port.state === 'transitioning');
        const reading = { ports, index: indexUses(usesFromRecords(ports)), liveServices: new Set(live.map((port) => liveKey(port.service, port.env))), readAt };
        this.#reading = reading;
        this.#readingGeneration = generation;
        this.#lastError = undefined;
        this.#o.refreshes.inc({ result: 'ok' });
        return reading;
      } catch (err) {
        this.#lastError = describe(err);
        this.#o.refreshes.inc({ result: 'failed' });
        this.#o.logger.warn({ err }, 'admission: cannot read the register; reviews use the previous reading');
        throw err;
      } finally {
        this.#inFlight = undefined;
      }
    })();
    return this.#inFlight;
  }
}

/** The key of `RegisterReading.liveServices`. */
export function liveKey(service: string, env: string): string {
  return `${service}\u0000${env}`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
