import { formatHostPort } from '../shared/address.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import { loadConfigFile } from '../shared/config/load.ts';
import { ConfigError, formatIssue } from '../shared/config/config-error.ts';
import type { SidecarConfig } from '../shared/config/sidecar-schema.ts';
import { PortwardenError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { SidecarMetrics } from './admin/metrics.ts';
import { AdminServer, type Readiness } from './admin/server.ts';
import { healthy, readiness, statusReport, type SidecarState, type StatusView } from './admin/status.ts';
import { createPortIdentity, type PortIdentityFactory } from './identity/resolver-factory.ts';
import type { LicenseSource } from './licenses/source.ts';
import { syncPortsFromConfig, type SyncPort } from './licenses/sync.ts';
import type { AccessHook } from './proxy/access-record.ts';
import { boundAddress, ListenerSet } from './proxy/listener-set.ts';
import type { PortListener } from './proxy/listener.ts';
import type { FollowedLicenses } from './proxy/transition-follower.ts';
import { applyReload, type ApplyContext } from './reload/apply.ts';
import { planReload, type ReloadPlan } from './reload/plan.ts';
import { assertSafe, safeSidecarSchema } from './reload/safety.ts';

/** The license source, plus what the real one (`LicenseSync`) offers beyond `LicenseSource`. */
export type SidecarLicenseSource = LicenseSource & {
  /** Called after a reload with the new port list. */
  updatePorts?(ports: readonly SyncPort[]): void | Promise<void>;
  /** When the last successful sync completed (ms since the epoch), for `/status`. */
  readonly lastSyncAt?: number | undefined;
} & Pick<FollowedLicenses, 'followedNumbers'>;

export interface SidecarOptions {
  config: SidecarConfig;
  logger: Logger;
  metrics: SidecarMetrics;
  licenseSource: SidecarLicenseSource;
  clock?: Clock;
  /** Receives one record per closed or refused connection (telemetry). */
  onAccess?: AccessHook;
  /** Maps a port's identity mode to its resolver and upstream connector. */
  createPortIdentity?: PortIdentityFactory;
  /** How often open connections are checked against their license's `exp` (1s). */
  sweepIntervalMs?: number;
}

/**
 * The proxy side of a sidecar: a listener per listen address of each configured port (a port
 * may listen on several numbers, e.g. both numbers of a transition, each decided on its own
 * license), the transition numbers it follows, the admin endpoint, and the glue to the license
 * source (revocations close connections, `exp` is enforced on open ones). `reload` applies a
 * new configuration without disturbing the ports and addresses it does not change. The
 * process around it (license sync, telemetry, inventory, the file watcher) is `SidecarRuntime`.
 *
 * Shutdown order (`close`): not ready → stop accepting → drain open connections until the
 * deadline → cut the rest → close the admin endpoint.
 */
export class Sidecar {
  readonly #logger: Logger;
  readonly #metrics: SidecarMetrics;
  readonly #licenses: SidecarLicenseSource;
  readonly #clock: Clock;
  readonly #createIdentity: PortIdentityFactory;
  readonly #sweepIntervalMs: number;
  readonly #listeners: ListenerSet;
  #config: SidecarConfig;
  #state: SidecarState = 'new';
  #admin: AdminServer | undefined;
  #followPending = false;
  #sweepTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #unsubscribeRevoke: (() => void) | undefined;
  #started: Promise<void> | undefined;
  #reloads: Promise<unknown> = Promise.resolve();
  #closed: Promise<boolean> | undefined;

  constructor(options: SidecarOptions) {
    this.#config = options.config;
    this.#logger = options.logger.child({ component: 'sidecar' });
    this.#metrics = options.metrics;
    this.#licenses = options.licenseSource;
    this.#clock = options.clock ?? systemClock;
    this.#createIdentity = options.createPortIdentity ?? createPortIdentity;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 1_000;
    this.#listeners = new ListenerSet({
      licenses: this.#licenses,
      logger: this.#logger,
      metrics: this.#metrics,
      clock: this.#clock,
      onAccess: options.onAccess,
      createIdentity: this.#createIdentity,
      config: () => this.#config,
    });
  }

  /** The configuration in force. */
  get config(): SidecarConfig {
    return this.#config;
  }

  /** The bound address of each port's first listen address (port 0 resolved), by port name. */
  get addresses(): ReadonlyMap<string, string> {
    return new Map(this.#listeners.names().map((name) => [name, boundAddress(this.#listeners.of(name)[0] as PortListener)]));
  }

  /**
   * Every bound listen address of each port (port 0 resolved), in the configured order, then
   * the transition numbers it follows, by port name.
   */
  get listenAddresses(): ReadonlyMap<string, readonly string[]> {
    const set = this.#listeners;
    return new Map(set.names().map((name) => [name, [...set.of(name), ...set.follower.of(name)].map(boundAddress)]));
  }

  /** The bound admin address, once started. */
  get adminAddress(): string | undefined {
    const address = this.#admin?.address;
    return address && formatHostPort(address);
  }

  /**
   * Binds every port and the admin endpoint. Refuses unsafe combinations first (ConfigError);
   * a port that cannot bind closes everything already bound: nothing starts half-way.
   */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    assertSafe(this.#config);
    this.#state = 'starting';
    try {
      for (const port of this.#config.ports) {
        const listeners = await this.#listeners.openPort(port, this.#config);
        this.#listeners.set(port.name, listeners);
        for (const listener of listeners) this.#logListening(listener);
      }
      this.#admin = await this.#openAdmin(this.#config);
    } catch (err) {
      await this.#listeners.closeAll();
      this.#state = 'closed';
      throw err;
    }
    // a new, replaced or removed license may start or end a followed transition number
    this.#unsubscribe = this.#licenses.onChange(() => this.#scheduleFollow());
    // on_revoke: a revoked lid is unique to one license, so every listener cuts whatever it
    // admitted under it, whichever license holds the number now
    this.#unsubscribeRevoke = this.#licenses.onRevoke((lids) => {
      for (const listener of this.#listeners.all()) listener.licensesRevoked(lids);
    });
    this.#sweepTimer = setInterval(() => this.#sweep(), this.#sweepIntervalMs);
    this.#sweepTimer.unref();
    this.#state = 'running';
    // licenses loaded before the start (last-known-good) may already name a followed number
    this.#scheduleFollow();
  }

  /**
   * Brings the followed transition numbers in line with the licenses, once the reloads and
   * follow passes before it are done; a pass already waiting covers this call too.
   */
  #scheduleFollow(): void {
    if (this.#followPending || this.#state !== 'running') return;
    this.#followPending = true;
    this.#reloads = this.#reloads
      .then(async () => {
        this.#followPending = false;
        if (this.#state !== 'running') return;
        await this.#listeners.follower.reconcile(this.#config.ports);
      })
      .catch((err: unknown) => this.#logger.error({ err }, 'following transition numbers failed'));
  }

  /** Loads `file` and applies it; a bad file is refused (logged and counted) and the old configuration keeps running. */
  async reloadFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
    let next: SidecarConfig;
    try {
      next = await loadConfigFile(file, safeSidecarSchema, env);
    } catch (err) {
      this.#refused(err);
      throw err;
    }
    await this.reload(next);
  }

  /**
   * Applies a new configuration (see `applyReload`); `identities` applies to new connections.
   * A refused configuration (unsafe, or changing `service`/`authority`, or an address that
   * cannot bind) changes nothing and throws.
   */
  reload(next: SidecarConfig): Promise<void> {
    const run = this.#reloads.then(() => this.#reload(next));
    this.#reloads = run.catch(() => undefined);
    return run;
  }

  async #reload(next: SidecarConfig): Promise<void> {
    if (this.#state !== 'running') throw new PortwardenError('unavailable', `cannot reload while ${this.#state}`);
    const previous = this.#config;
    let plan: ReloadPlan;
    try {
      assertSafe(next);
      plan = planReload(previous, next);
    } catch (err) {
      this.#refused(err);
      throw err;
    }
    const ctx: ApplyContext = { listeners: this.#listeners, createIdentity: this.#createIdentity, logger: this.#logger, metrics: this.#metrics, clock: this.#clock };
    let applied;
    try {
      applied = await applyReload(ctx, plan, previous, next);
    } catch (err) {
      this.#refused(err);
      throw err;
    }
    if (plan.adminChanged) {
      const admin = await this.#openAdmin(next);
      const old = this.#admin;
      this.#admin = admin;
      await old?.close();
    }
    if (next.log.level !== previous.log.level) this.#logger.warn({ level: next.log.level }, 'log.level takes effect at the next start');
    this.#config = next;
    await this.#licenses.updatePorts?.(syncPortsFromConfig(next.ports));
    this.#metrics.configReloadsTotal.inc({ result: 'applied' });
    const { fresh, ...summary } = applied;
    this.#logger.info(summary, 'configuration reloaded');
    for (const listener of fresh) this.#logListening(listener);
    this.#scheduleFollow();
  }

  #refused(err: unknown): void {
    this.#metrics.configReloadsTotal.inc({ result: 'refused' });
    const issues = err instanceof ConfigError ? err.issues.map(formatIssue) : undefined;
    this.#logger.error({ issues, code: (err as PortwardenError).code, detail: issues ? undefined : String(err) }, 'configuration reload refused; the old configuration keeps running');
  }

  #logListening(listener: PortListener): void {
    this.#logger.info({ port: listener.name, listen: boundAddress(listener), upstream: formatHostPort(listener.port.upstream) }, 'listening');
  }

  async #openAdmin(config: SidecarConfig): Promise<AdminServer> {
    const admin = new AdminServer({ listen: config.admin.listen, registry: this.#metrics.registry, subject: this, logger: this.#logger });
    try {
      await admin.listen();
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code ?? 'error';
      throw new PortwardenError('listen_failed', `admin: cannot listen on ${formatHostPort(config.admin.listen)} (${code})`, { cause });
    }
    this.#logger.info({ listen: formatHostPort(admin.address ?? config.admin.listen) }, 'admin listening');
    return admin;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const listener of this.#listeners.all()) listener.sweep(now);
    // a followed number whose license expired stops listening
    this.#scheduleFollow();
  }

  get #view(): StatusView {
    return { state: this.#state, config: this.#config, listeners: this.#listeners, licenses: this.#licenses };
  }

  /** `/readyz` (see `readiness`). */
  readiness(): Readiness {
    return readiness(this.#view);
  }

  /** `/healthz` (see `healthy`). */
  healthy(): boolean {
    return healthy(this.#view);
  }

  /** `/status` (see `statusReport`). */
  status(): unknown {
    return statusReport(this.#view);
  }

  /** Brings the byte counters up to date before a scrape, and has the process defaults registered. */
  beforeScrape(): void {
    this.#metrics.registerProcessMetrics();
    this.#sweep();
  }

  /**
   * Shuts down: not ready → stop accepting → drain until `deadlineMs` (default
   * `shutdown_timeout`) → cut what remains → close the admin endpoint. Resolves to true when
   * the deadline fired. Idempotent.
   */
  close({ deadlineMs }: { deadlineMs?: number } = {}): Promise<boolean> {
    this.#closed ??= this.#close(deadlineMs ?? this.#config.shutdown_timeout);
    return this.#closed;
  }

  async #close(deadlineMs: number): Promise<boolean> {
    await this.#started?.catch(() => undefined);
    if (this.#state === 'closed') return false;
    this.#state = 'closing';
    await this.#reloads;
    this.#unsubscribe?.();
    this.#unsubscribeRevoke?.();
    clearInterval(this.#sweepTimer);
    const all = this.#listeners.all();
    for (const listener of all) listener.stopAccepting();
    const open = all.reduce((sum, listener) => sum + listener.connections.size, 0);
    this.#logger.info({ open, deadlineMs }, 'stopped accepting; draining open connections');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), deadlineMs);
    });
    const fired = await Promise.race([Promise.all(all.map((listener) => listener.drained())).then(() => false), deadline]);
    clearTimeout(timer);
    if (fired) {
      const cut = all.reduce((sum, listener) => sum + listener.connections.size, 0);
      this.#logger.warn({ cut, deadlineMs }, 'shutdown deadline passed: closing the remaining connections');
    }
    await this.#listeners.closeAll();
    await this.#admin?.close();
    this.#state = 'closed';
    this.#logger.info({ deadlineFired: fired }, 'stopped');
    return fired;
  }
}
