import { Registry } from '../shared/prom-client-parts.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import type { SidecarConfig } from '../shared/config/sidecar-schema.ts';
import type { Logger } from '../shared/logger.ts';
import { createSidecarMetrics, type SidecarMetrics } from './admin/metrics.ts';
import { AuthorityTransport } from './authority/transport.ts';
import { sidecarOwnPorts } from './inventory/own-ports.ts';
import { InventoryReporter } from './inventory/reporter.ts';
import { LicenseSync, syncPortsFromConfig, type LicenseSyncOptions } from './licenses/sync.ts';
import type { AccessHook } from './proxy/access-record.ts';
import { ConfigWatcher } from './reload/watcher.ts';
import { Sidecar } from './sidecar.ts';
import { AccessTelemetry } from './telemetry/telemetry.ts';

export interface SidecarRuntimeOptions {
  config: SidecarConfig;
  logger: Logger;
  /** The file `config` came from: watched, and re-read by `reload()`. Without it nothing is watched. */
  file?: string | undefined;
  /** Reads `PORTWARDEN_*` overrides when the file is re-read. */
  env?: NodeJS.ProcessEnv;
  /** Made with a fresh registry and the process defaults when absent. */
  metrics?: SidecarMetrics;
  clock?: Clock;
  /** Receives every access record too, beside telemetry (tests read them). */
  onAccess?: AccessHook;
  /** How often open connections are checked against their license's `exp` (1s). */
  sweepIntervalMs?: number;
  /** Back-off of the license sync between failed rounds. */
  backoff?: LicenseSyncOptions['backoff'];
}

/**
 * One sidecar process, composed in one place — what `portwarden sidecar`, the tests and the
 * bench start. Start order: the authority transport (bad TLS files refuse the start) → the
 * license sync (last-known-good first, then the long-poll) → telemetry (spooled batches of a
 * previous run go first) → the listeners and the admin endpoint → inventory → the file watcher.
 *
 * Shutdown order (`close`), written here once: stop watching the file → stop the inventory →
 * not ready, stop accepting, drain until the deadline, cut the rest, close the admin endpoint
 * (`Sidecar.close`) → the final telemetry batch (it holds the last connections' records) → the
 * license sync → the transport → the log.
 */
export class SidecarRuntime {
  readonly sidecar: Sidecar;
  readonly sync: LicenseSync;
  readonly telemetry: AccessTelemetry;
  readonly metrics: SidecarMetrics;
  readonly logger: Logger;
  readonly #transport: AuthorityTransport;
  readonly #inventory: InventoryReporter;
  readonly #file: string | undefined;
  readonly #env: NodeJS.ProcessEnv;
  #watcher: ConfigWatcher | undefined;
  #closed: Promise<boolean> | undefined;

  private constructor(parts: { options: SidecarRuntimeOptions; metrics: SidecarMetrics; transport: AuthorityTransport; sync: LicenseSync; telemetry: AccessTelemetry; sidecar: Sidecar; inventory: InventoryReporter }) {
    this.logger = parts.options.logger;
    this.metrics = parts.metrics;
    this.#transport = parts.transport;
    this.sync = parts.sync;
    this.telemetry = parts.telemetry;
    this.sidecar = parts.sidecar;
    this.#inventory = parts.inventory;
    this.#file = parts.options.file;
    this.#env = parts.options.env ?? process.env;
  }

  /** Starts every part in order; when one fails, those already started close and it throws. */
  static async start(options: SidecarRuntimeOptions): Promise<SidecarRuntime> {
    const { config, logger } = options;
    const clock = options.clock ?? systemClock;
    const metrics = options.metrics ?? createSidecarMetrics(new Registry());
    // one pool for everything sent to the authority (sync, JWKS, telemetry, inventory), with
    // authority.ca and the client certificate; replaced files apply to new requests
    const transport = await AuthorityTransport.open(config.authority, { logger, metrics });
    const sync = new LicenseSync({ service: config.service, authority: config.authority, ports: syncPortsFromConfig(config.ports), clock, logger, metrics, transport, backoff: options.backoff });
    const telemetry = new AccessTelemetry({ config, metrics, logger, clock, transport });
    const extra = options.onAccess;
    const onAccess: AccessHook = extra === undefined ? telemetry.onAccess : (record) => (telemetry.onAccess(record), extra(record));
    const sidecar = new Sidecar({ config, logger, metrics, clock, licenseSource: sync, onAccess, sweepIntervalMs: options.sweepIntervalMs });
    try {
      await sync.start();
      await telemetry.start();
      await sidecar.start();
    } catch (err) {
      await sidecar.close({ deadlineMs: 0 });
      await Promise.allSettled([telemetry.close(), sync.close()]);
      await transport.close();
      throw err;
    }
    // every inventory.interval: this namespace's listening sockets; own ports read each round (reloads, port 0)
    const inventory = new InventoryReporter({ config, metrics, logger, clock, transport, ownPorts: () => sidecarOwnPorts(sidecar) });
    inventory.start();
    const runtime = new SidecarRuntime({ options, metrics, transport, sync, telemetry, sidecar, inventory });
    if (options.file !== undefined) {
      runtime.#watcher = new ConfigWatcher({ file: options.file, logger, onChange: () => runtime.#reload() });
      await runtime.#watcher.start();
    }
    return runtime;
  }

  /**
   * SIGHUP: re-reads the file (when there is one; a bad file is refused, logged and counted, and
   * the running configuration stays) and the authority's TLS files either way.
   */
  reload(): Promise<void> {
    return this.#watcher ? this.#watcher.reloadNow() : this.#transport.reload().then(() => undefined);
  }

  async #reload(): Promise<void> {
    try {
      if (this.#file !== undefined) await this.sidecar.reloadFile(this.#file, this.#env);
    } finally {
      // authority.ca/cert/key are re-read even when the file is refused
      await this.#transport.reload();
    }
  }

  /**
   * Shuts down in the order of the class comment. `deadlineMs` (default `shutdown_timeout`)
   * bounds the drain; resolves to true when it fired. Idempotent.
   */
  close({ deadlineMs }: { deadlineMs?: number } = {}): Promise<boolean> {
    this.#closed ??= (async () => {
      await this.#watcher?.close();
      await this.#inventory.close();
      const fired = await this.sidecar.close({ deadlineMs: deadlineMs ?? this.sidecar.config.shutdown_timeout });
      await this.telemetry.close();
      await this.sync.close();
      await this.#transport.close();
      await new Promise<void>((resolve) => this.logger.flush(() => resolve()));
      return fired;
    })();
    return this.#closed;
  }
}
