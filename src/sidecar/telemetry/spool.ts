import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Counter, Gauge } from 'prom-client';
import type { Logger } from '../../shared/logger.ts';
import { telemetryBatchSchema } from './batch.ts';

/** A batch waiting on disk. `seq` orders the spool; `records` is kept in the name so a drop can count them. */
export interface SpoolEntry {
  readonly name: string;
  readonly seq: number;
  readonly records: number;
  readonly bytes: number;
}

/** A spooled batch read back: the exact JSON body to resend. */
export interface SpooledBatch {
  readonly entry: SpoolEntry;
  readonly body: string;
}

export interface SpoolOptions {
  /** `telemetry.spool_dir`. */
  dir: string;
  /** `telemetry.spool_max_bytes`: when a new batch would pass it, the oldest are dropped. */
  maxBytes: number;
  logger: Logger;
  /** `portwarden_telemetry_dropped_total`: records lost as `spool_full` or `spool_corrupt`. */
  dropped?: Counter<'reason'>;
  /** `portwarden_telemetry_spool_bytes`. */
  bytesGauge?: Gauge;
}

// <12-digit sequence>-<record count>.json: names sort in sequence order
const namePattern = /^(\d{12})-(\d{1,9})\.json$/;

/**
 * Telemetry batches the authority has not acknowledged, one file per batch, kept across
 * restarts. A file appears whole or not at all (temp file, fsync, rename, fsync of the
 * directory), so a crash leaves at most a stray temp file, removed on `open`. Not for
 * concurrent use: the reporter serialises every call.
 */
export class Spool {
  readonly #options: SpoolOptions;
  readonly #log: Logger;
  #entries: SpoolEntry[] = [];
  #bytes = 0;
  #nextSeq = 1;

  constructor(options: SpoolOptions) {
    this.#options = options;
    this.#log = options.logger;
  }

  /** Creates the directory, removes stray temp files and takes stock of what a previous run left. */
  async open(): Promise<void> {
    const { dir } = this.#options;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const entries: SpoolEntry[] = [];
    for (const name of await readdir(dir)) {
      if (name.endsWith('.tmp')) {
        await unlink(join(dir, name)).catch(() => {});
        continue;
      }
      const match = namePattern.exec(name);
      if (!match) continue; // not ours: leave it alone
      const { size } = await stat(join(dir, name));
      entries.push({ name, seq: Number(match[1]), records: Number(match[2]), bytes: size });
    }
    this.#entries = entries.sort((a, b) => a.seq - b.seq);
    this.#bytes = entries.reduce((sum, entry) => sum + entry.bytes, 0);
    this.#nextSeq = (this.#entries.at(-1)?.seq ?? 0) + 1;
    // the bound may have shrunk since the last run
    await this.#makeRoom(0);
    this.#publish();
    if (this.#entries.length > 0) this.#log.info({ batches: this.#entries.length, bytes: this.#bytes }, 'telemetry spool holds unsent batches');
  }

  /** Writes a batch behind the others. Returns false when it alone is larger than the bound and was dropped. */
  async append(body: string, records: number): Promise<boolean> {
    const bytes = Buffer.byteLength(body);
    if (bytes > this.#options.maxBytes) {
      this.#options.dropped?.inc({ reason: 'spool_full' }, records);
      this.#log.warn({ bytes, maxBytes: this.#options.maxBytes, records }, 'telemetry batch larger than the spool; dropped');
      return false;
    }
    await this.#makeRoom(bytes);
    const seq = this.#nextSeq++;
    const name = `${String(seq).padStart(12, '0')}-${records}.json`;
    const tmp = join(this.#options.dir, `.${name}.tmp`);
    try {
      const file = await open(tmp, 'wx', 0o600);
      try {
        await file.writeFile(body);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, join(this.#options.dir, name));
    } catch (err) {
      // e.g. ENOSPC: leave no half-written temp file behind
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await this.#syncDir();
    this.#entries.push({ name, seq, records, bytes });
    this.#bytes += bytes;
    this.#publish();
    return true;
  }

  /** The oldest readable batch. Corrupt files are skipped: warned about, counted and removed. */
  async peek(): Promise<SpooledBatch | undefined> {
    for (;;) {
      const entry = this.#entries[0];
      if (entry === undefined) return undefined;
      let body: string;
      try {
        body = await readFile(join(this.#options.dir, entry.name), 'utf8');
      } catch (err) {
        this.#log.warn({ err, file: entry.name }, 'telemetry spool file vanished; skipped');
        this.#forget(entry);
        continue;
      }
      if (isBatch(body)) return { entry, body };
      this.#options.dropped?.inc({ reason: 'spool_corrupt' }, entry.records);
      this.#log.warn({ file: entry.name, bytes: entry.bytes }, 'telemetry spool file is corrupt; skipped and removed');
      await this.remove(entry);
    }
  }

  /** Deletes a batch once the authority acknowledged (or refused) it. */
  async remove(entry: SpoolEntry): Promise<void> {
    await unlink(join(this.#options.dir, entry.name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    this.#forget(entry);
  }

  /** Batches waiting. */
  get batches(): number {
    return this.#entries.length;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Drops the oldest batches until `incoming` more bytes fit under the bound. */
  async #makeRoom(incoming: number): Promise<void> {
    let droppedBatches = 0;
    let droppedRecords = 0;
    while (this.#entries.length > 0 && this.#bytes + incoming > this.#options.maxBytes) {
      const oldest = this.#entries[0]!;
      await this.remove(oldest);
      droppedBatches += 1;
      droppedRecords += oldest.records;
    }
    if (droppedBatches === 0) return;
    this.#options.dropped?.inc({ reason: 'spool_full' }, droppedRecords);
    this.#log.warn({ batches: droppedBatches, records: droppedRecords, maxBytes: this.#options.maxBytes }, 'telemetry spool full; oldest batches dropped');
  }

  #forget(entry: SpoolEntry): void {
    const index = this.#entries.indexOf(entry);
    if (index === -1) return;
    this.#entries.splice(index, 1);
    this.#bytes -= entry.bytes;
    this.#publish();
  }

  #publish(): void {
    this.#options.bytesGauge?.set(this.#bytes);
  }

  // the rename is durable only once the directory entry is on disk
  async #syncDir(): Promise<void> {
    const dir = await open(this.#options.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

function isBatch(body: string): boolean {
  try {
    return telemetryBatchSchema.safeParse(JSON.parse(body)).success;
  } catch {
    return false;
  }
}
