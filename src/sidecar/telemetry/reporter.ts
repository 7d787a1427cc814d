import type { Counter } from 'prom-client';
import type { Clock } from '../../shared/clock.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AccessTable } from './access-table.ts';
import type { AuthorityPoster, PostResult } from './authority-post.ts';
import { toBatches } from './batch.ts';
import type { Spool } from './spool.ts';

/** Where batches go on the authority. */
export const telemetryPath = '/v1/telemetry';

export interface TelemetryReporterOptions {
  service: string;
  table: AccessTable;
  spool: Spool;
  poster: AuthorityPoster;
  clock: Clock;
  logger: Logger;
  /** `telemetry.report_interval`. */
  intervalMs: number;
  /** How long `close` may spend delivering before what is left goes to the spool. */
  closeTimeoutMs?: number;
  maxRecordsPerBatch?: number;
  /** `portwarden_telemetry_batches_total{result}`. */
  batches?: Counter<'result'>;
  /** `portwarden_telemetry_dropped_total{reason}`. */
  dropped?: Counter<'reason'>;
}

/**
 * Every `report_interval`, drains the access table into batches and POSTs them to the
 * authority, at least once: a batch is resent, byte for byte, until a 2xx. While the
 * authority is unreachable, batches wait in the spool and are sent oldest first when it is
 * back; a new batch goes straight out only when nothing is waiting, so order is kept. On
 * `start`, what a previous run spooled is sent before anything new.
 */
export class TelemetryReporter {
  readonly #o: TelemetryReporterOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #queue: Promise<void> = Promise.resolve();
  #busy = false;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  #started: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: TelemetryReporterOptions) {
    this.#o = options;
    this.#log = options.logger;
  }

  /** Opens the spool, starts sending what it holds, then reports every interval. Idempotent. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    try {
      await this.#o.spool.open();
    } catch (cause) {
      throw new PortwardenError('internal', 'cannot open telemetry.spool_dir', { cause });
    }
    void this.flush();
    this.#timer = setInterval(() => {
      // during an outage a round can outlast the interval; skip rather than pile up
      if (!this.#busy) void this.flush();
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Reports now: sends what is spooled, then what the table holds. Never rejects. */
  flush(): Promise<void> {
    if (this.#closing) return this.#closing;
    return this.#enqueue(false);
  }

  /**
   * Stops the timer and reports one last time; what cannot be delivered within
   * `closeTimeoutMs` is spooled for the next start. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      const deadline = setTimeout(() => this.#abort.abort(), this.#o.closeTimeoutMs ?? 5_000);
      try {
        await this.#enqueue(true);
      } finally {
        clearTimeout(deadline);
      }
    })();
    return this.#closing;
  }

  #enqueue(final: boolean): Promise<void> {
    const round = this.#queue.then(async () => {
      this.#busy = true;
      try {
        await this.#round(final);
      } catch (err) {
        this.#log.error({ err }, 'telemetry report round failed');
      } finally {
        this.#busy = false;
      }
    });
    this.#queue = round;
    return round;
  }

  async #round(final: boolean): Promise<void> {
    const { table, spool, service, clock } = this.#o;
    const batches = toBatches(table.drain(), { service, now: clock.now(), maxRecords: this.#o.maxRecordsPerBatch });
    // the backlog first, so the authority sees batches in the order they were cut; on close
    // a long backlog would hold up shutdown, and it survives on disk anyway
    let reachable = final ? !this.#failing : await this.#sendSpooled();
    for (const batch of batches) {
      const body = JSON.stringify(batch);
      const records = batch.records.length;
      if (reachable && spool.batches === 0) {
        if ((await this.#deliver(body, records)) !== 'retry') continue;
        reachable = false;
      }
      await this.#spoolBatch(body, records);
    }
  }

  /** Sends spooled batches oldest first; false when the authority stopped taking them. */
  async #sendSpooled(): Promise<boolean> {
    const { spool } = this.#o;
    for (;;) {
      const item = await spool.peek();
      if (item === undefined) return true;
      if ((await this.#deliver(item.body, item.entry.records)) === 'retry') return false;
      await spool.remove(item.entry);
    }
  }

  async #deliver(body: string, records: number): Promise<PostResult['outcome']> {
    const result = await this.#o.poster.post(telemetryPath, body, this.#abort.signal);
    this.#o.batches?.inc({ result: result.outcome === 'retry' ? 'failed' : result.outcome });
    if (result.outcome === 'retry') {
      // one line per outage, not one per attempt
      if (!this.#failing) this.#log.warn({ err: result.error, code: result.error.code, status: result.status }, 'telemetry not delivered; spooling until the authority takes it');
      this.#failing = true;
      return result.outcome;
    }
    if (this.#failing) this.#log.info('telemetry delivery resumed');
    this.#failing = false;
    if (result.outcome === 'rejected') {
      // cut too long ago (an outage past the authority's memory of batch ids) or by a clock far ahead
      const reason = result.error.code === 'batch_out_of_window' ? 'out_of_window' : 'rejected';
      this.#o.dropped?.inc({ reason }, records);
      this.#log.error({ code: result.error.code, status: result.status, records, message: result.error.message }, 'authority rejected a telemetry batch; dropped');
    }
    return result.outcome;
  }

  async #spoolBatch(body: string, records: number): Promise<void> {
    try {
      await this.#o.spool.append(body, records);
    } catch (err) {
      this.#o.dropped?.inc({ reason: 'spool_error' }, records);
      this.#log.error({ err, records }, 'cannot write telemetry batch to the spool; dropped');
    }
  }
}
