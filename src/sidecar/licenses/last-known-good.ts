import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';

/** What survives a restart: the tokens in force, the keys they verified against, the revoked lids. */
export interface LastKnownGoodSnapshot {
  jwks: { keys: Record<string, unknown>[] };
  licenses: { port: string; lid: string; token: string }[];
  revoked: string[];
}

const fileSchema = z.object({
  version: z.literal(1),
  service: z.string(),
  savedAt: z.string(),
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
  licenses: z.array(z.object({ port: z.string(), lid: z.string(), token: z.string() })),
  revoked: z.array(z.string()),
});

export interface LastKnownGoodOptions {
  /** `authority.cache_dir`. */
  dir: string;
  service: string;
  clock: Clock;
  logger: Logger;
  metrics: Pick<SidecarMetrics, 'licenseRejectedTotal'>;
}

/**
 * The last-known-good cache under `authority.cache_dir`: one file per service, written atomically
 * (temp file, fsync, rename, mode 0600) on every change, so a sidecar restarted during an outage
 * still admits on licenses it verified before. What it loads is re-verified by the caller; a
 * truncated or corrupt file is ignored with a warning and counted as `cache_corrupt`.
 */
export class LastKnownGood {
  readonly file: string;
  readonly #dir: string;
  readonly #service: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: LastKnownGoodOptions['metrics'];
  #pending: LastKnownGoodSnapshot | undefined;
  #writing: Promise<void> | undefined;

  constructor(options: LastKnownGoodOptions) {
    this.#dir = options.dir;
    this.#service = options.service;
    this.#clock = options.clock;
    this.file = join(options.dir, `licenses-${options.service}.json`);
    this.#logger = options.logger;
    this.#metrics = options.metrics;
  }

  /** The saved snapshot; undefined when there is none or it cannot be trusted to parse. */
  async load(): Promise<LastKnownGoodSnapshot | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#corrupt(`cannot read it (${(err as NodeJS.ErrnoException).code})`);
      return undefined;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      this.#corrupt('it is not JSON (truncated?)');
      return undefined;
    }
    const parsed = fileSchema.safeParse(data);
    if (!parsed.success) {
      this.#corrupt(`it does not match the cache format (${parsed.error.issues[0]?.message ?? ''})`);
      return undefined;
    }
    if (parsed.data.service !== this.#service) {
      this.#corrupt(`it belongs to service "${parsed.data.service}"`);
      return undefined;
    }
    const { jwks, licenses, revoked } = parsed.data;
    return { jwks, licenses, revoked };
  }

  /**
   * Queues a write of `snapshot`. Writes run one at a time and only the newest queued snapshot is
   * written, so a burst of changes costs one or two writes. A failed write is logged, not thrown:
   * the licenses in memory stay in force.
   */
  save(snapshot: LastKnownGoodSnapshot): Promise<void> {
    this.#pending = snapshot;
    this.#writing ??= this.#drain().finally(() => (this.#writing = undefined));
    return this.#writing;
  }

  /** Waits for queued writes. Idempotent. */
  async close(): Promise<void> {
    await this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#pending !== undefined) {
      const snapshot = this.#pending;
      this.#pending = undefined;
      try {
        await this.#write(snapshot);
      } catch (err) {
        this.#logger.warn({ err, file: this.file }, 'cannot write the last-known-good license cache');
      }
    }
  }

  async #write(snapshot: LastKnownGoodSnapshot): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const body = JSON.stringify({ version: 1, service: this.#service, savedAt: new Date(this.#clock.now()).toISOString(), ...snapshot });
    const temp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(body, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.file);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    // the rename is durable only once the directory entry is
    const dir = await open(this.#dir, 'r').catch(() => undefined);
    await dir?.sync().catch(() => undefined);
    await dir?.close();
  }

  #corrupt(why: string): void {
    this.#metrics.licenseRejectedTotal.inc({ reason: 'cache_corrupt' });
    this.#logger.warn({ file: this.file }, `ignoring the last-known-good license cache: ${why}`);
  }
}
