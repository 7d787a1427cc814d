import { formatHostPort } from '../shared/address.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import { ConfigError, formatIssue, loadConfigFile } from '../shared/config/load.ts';
import type { PortConfig, SidecarConfig } from '../shared/config/sidecar-schema.ts';
import { PortwardenError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { AccessHook } from './access-record.ts';
import { AdminServer, type Readiness } from './admin-server.ts';
import { assertSafe, safeSidecarSchema } from './config-safety.ts';
import { createPortIdentity, identityInputsChanged, type PortIdentityFactory } from './identity/resolver-factory.ts';
import type { LicenseSource } from './license-source.ts';
import type { SidecarMetrics } from './metrics.ts';
import { PortListener } from './port-listener.ts';
import { planReload, type ReloadPlan } from './reload-plan.ts';

/** A port as the license source tracks it (the license's `port.number` must match `listenPort`). */
export interface SourcePort {
  name: string;
  listenPort: number;
  expiryGraceMs?: number;
}

/** The license source, plus what the real one (`LicenseSync`) offers beyond `LicenseSource`. */
export type SidecarLicenseSource = LicenseSource & {
  /** Called after a reload with the new port list. */
  updatePorts?(ports: readonly SourcePort[]): void | Promise<void>;
  /** When the last successful sync completed (ms since the epoch), for `/status`. */
  readonly lastSyncAt?: number | undefined;
};

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

type State = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/**
 * The sidecar: one listener per configured port, the admin endpoint, and the glue to the
 * license source (revocations close connections, `exp` is enforced on open ones). `reload`
 * applies a new configuration without disturbing ports it does not change.
 *
 * Shutdown order (`close`): not ready → stop accepting → drain open connections until the
 * deadline → cut the rest → close the admin endpoint.
 */
export class Sidecar {
  readonly #logger: Logger;
  readonly #metrics: SidecarMetrics;
  readonly #licenses: SidecarLicenseSource;
  readonly #clock: Clock;
  readonly #onAccess: AccessHook | undefined;
  readonly #createIdentity: PortIdentityFactory;
  readonly #sweepIntervalMs: number;
  #config: SidecarConfig;
  #state: State = 'new';
  readonly #listeners = new Map<string, PortListener>();
  /** Listeners of removed or changed ports, no longer accepting, until their connections end. */
  readonly #draining = new Set<PortListener>();
  #admin: AdminServer | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #started: Promise<void> | undefined;
  #reloads: Promise<unknown> = Promise.resolve();
  #closed: Promise<boolean> | undefined;

  constructor(options: SidecarOptions) {
    this.#config = options.config;
    this.#logger = options.logger.child({ component: 'sidecar' });
    this.#metrics = options.metrics;
    this.#licenses = options.licenseSource;
    this.#clock = options.clock ?? systemClock;
    this.#onAccess = options.onAccess;
    this.#createIdentity = options.createPortIdentity ?? createPortIdentity;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 1_000;
  }

  /** The configuration in force. */
  get config(): SidecarConfig {
    return this.#config;
  }

  /** The bound listen address of each port (port 0 resolved), by port name. */
  get addresses(): ReadonlyMap<string, string> {
    return new Map([...this.#listeners].map(([name, listener]) => [name, formatHostPort(listener.address ?? listener.port.listen)]));
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
        const listener = await this.#openListener(port, this.#config);
        this.#listeners.set(port.name, listener);
        this.#logListening(listener);
      }
      this.#admin = await this.#openAdmin(this.#config);
    } catch (err) {
      await Promise.all([...this.#listeners.values()].map((listener) => listener.close()));
      this.#listeners.clear();
      this.#state = 'closed';
      throw err;
    }
    this.#unsubscribe = this.#licenses.onChange((change) => {
      for (const listener of this.#listenersNamed(change.portName)) listener.licenseChanged(change);
    });
    this.#sweepTimer = setInterval(() => this.#sweep(), this.#sweepIntervalMs);
    this.#sweepTimer.unref();
    this.#state = 'running';
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
   * Applies a new configuration: added ports start, removed ones stop accepting and drain,
   * changed ones restart (their open connections drain on the old settings), untouched ones
   * and their connections are left alone. `identities` applies to new connections. A refused
   * configuration (unsafe, or changing `service`/`authority`, or a port that cannot bind)
   * changes nothing and throws.
   */
  reload(next: SidecarConfig): Promise<void> {
    const run = this.#reloads.then(() => this.#reload(next));
    this.#reloads = run.catch(() => undefined);
    return run;
  }

  async #reload(next: SidecarConfig): Promise<void> {
    if (this.#state !== 'running') throw new PortwardenError('unavailable', `cannot reload while ${this.#state}`);
    let plan: ReloadPlan;
    try {
      assertSafe(next);
      plan = planReload(this.#config, next);
    } catch (err) {
      this.#refused(err);
      throw err;
    }
    const previous = this.#config;
    const opened = new Map<string, PortListener>();
    const stopped: PortListener[] = [];
    try {
      for (const port of plan.added) opened.set(port.name, await this.#openListener(port, next));
      for (const port of plan.changed) {
        const old = this.#listeners.get(port.name) as PortListener;
        // the new listener may need the old one's address: stop accepting there first
        old.stopAccepting();
        stopped.push(old);
        opened.set(port.name, await this.#openListener(port, next));
      }
    } catch (err) {
      await Promise.all([...opened.values()].map((listener) => listener.close()));
      await this.#restoreAccepting(stopped, previous);
      this.#refused(err);
      throw err;
    }
    for (const name of plan.removed) {
      const old = this.#listeners.get(name) as PortListener;
      old.stopAccepting();
      stopped.push(old);
      this.#listeners.delete(name);
    }
    for (const old of stopped) this.#drain(old);
    for (const [name, listener] of opened) this.#listeners.set(name, listener);
    for (const port of plan.unchanged) {
      const listener = this.#listeners.get(port.name) as PortListener;
      if (identityInputsChanged(port, previous, next)) await listener.setIdentity(await this.#createIdentity(port, { config: next, logger: this.#logger, metrics: this.#metrics, clock: this.#clock }));
      else await listener.reloadIdentity();
    }
    if (plan.adminChanged) {
      const admin = await this.#openAdmin(next);
      const old = this.#admin;
      this.#admin = admin;
      await old?.close();
    }
    if (next.log.level !== previous.log.level) this.#logger.warn({ level: next.log.level }, 'log.level takes effect at the next start');
    this.#config = next;
    await this.#licenses.updatePorts?.(sourcePorts(next.ports));
    this.#metrics.configReloadsTotal.inc({ result: 'applied' });
    this.#logger.info(
      { added: plan.added.map((p) => p.name), removed: plan.removed, changed: plan.changed.map((p) => p.name) },
      'configuration reloaded',
    );
    for (const port of [...plan.added, ...plan.changed]) this.#logListening(this.#listeners.get(port.name) as PortListener);
  }

  /** A changed port whose replacement could not bind gets a fresh listener on its old settings. */
  async #restoreAccepting(stopped: PortListener[], config: SidecarConfig): Promise<void> {
    for (const old of stopped) {
      try {
        const again = await this.#openListener(old.port, config);
        this.#drain(old);
        this.#listeners.set(old.name, again);
      } catch (err) {
        this.#logger.error({ err, port: old.name }, 'cannot listen again on the old settings');
      }
    }
  }

  #refused(err: unknown): void {
    this.#metrics.configReloadsTotal.inc({ result: 'refused' });
    const issues = err instanceof ConfigError ? err.issues.map(formatIssue) : undefined;
    this.#logger.error({ issues, code: (err as PortwardenError).code, detail: issues ? undefined : String(err) }, 'configuration reload refused; the old configuration keeps running');
  }

  async #openListener(port: PortConfig, config: SidecarConfig): Promise<PortListener> {
    const identity = await this.#createIdentity(port, { config, logger: this.#logger, metrics: this.#metrics, clock: this.#clock });
    const listener = new PortListener({
      port,
      identity,
      licenses: this.#licenses,
      clock: this.#clock,
      clockToleranceMs: config.authority.clock_tolerance,
      logger: this.#logger,
      metrics: this.#metrics,
      onAccess: this.#onAccess,
    });
    try {
      await listener.listen();
    } catch (cause) {
      await listener.close();
      const code = (cause as NodeJS.ErrnoException).code ?? 'error';
      throw new PortwardenError('listen_failed', `port "${port.name}": cannot listen on ${formatHostPort(port.listen)} (${code})`, { cause });
    }
    return listener;
  }

  #logListening(listener: PortListener): void {
    this.#logger.info(
      { port: listener.name, listen: formatHostPort(listener.address ?? listener.port.listen), upstream: formatHostPort(listener.port.upstream) },
      'listening',
    );
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

  #drain(listener: PortListener): void {
    this.#draining.add(listener);
    void listener.drained().then(async () => {
      this.#draining.delete(listener);
      await listener.close();
    });
  }

  *#listenersNamed(name: string): Iterable<PortListener> {
    const active = this.#listeners.get(name);
    if (active) yield active;
    for (const listener of this.#draining) if (listener.name === name) yield listener;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const listener of this.#listeners.values()) listener.sweep(now);
    for (const listener of this.#draining) listener.sweep(now);
  }

  /** `/readyz`: ready while running and every port holds a license that admits now. */
  readiness(): Readiness {
    const ports = [...this.#listeners.keys()].map((name) => ({ name, health: this.#licenses.status(name).health }));
    if (this.#state !== 'running') return { ready: false, reason: this.#state === 'new' || this.#state === 'starting' ? 'starting' : 'shutting_down', ports };
    const failing = ports.filter((port) => port.health !== 'ok' && port.health !== 'degraded');
    if (failing.length === 0) return { ready: true, ports };
    return { ready: false, reason: `no license admits on ${failing.map((port) => port.name).join(', ')}`, ports };
  }

  /** `/healthz`: running, and every port is accepting (not backing off after accept errors). */
  healthy(): boolean {
    return this.#state === 'running' && [...this.#listeners.values()].every((listener) => listener.accepting);
  }

  /** `/status`: the service, each port with its addresses, open connections and license. */
  status(): unknown {
    const lastSyncAt = this.#licenses.lastSyncAt;
    return {
      service: this.#config.service,
      state: this.#state,
      ready: this.readiness().ready,
      authorityReachable: this.#licenses.authorityReachable,
      lastSync: lastSyncAt === undefined ? undefined : new Date(lastSyncAt).toISOString(),
      ports: [...this.#listeners.values()].map((listener) => {
        let draining = 0;
        for (const old of this.#listenersNamed(listener.name)) if (old !== listener) draining += old.connections.size;
        return {
          name: listener.name,
          listen: formatHostPort(listener.address ?? listener.port.listen),
          upstream: formatHostPort(listener.port.upstream),
          identity: listener.port.identity.mode,
          accepting: listener.accepting,
          activeConnections: listener.connections.size + draining,
          license: this.#licenses.status(listener.name),
        };
      }),
    };
  }

  /** Brings the byte counters up to date before a scrape. */
  beforeScrape(): void {
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
    clearInterval(this.#sweepTimer);
    const all = [...this.#listeners.values(), ...this.#draining];
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
    await Promise.all(all.map((listener) => listener.close()));
    await this.#admin?.close();
    this.#state = 'closed';
    this.#logger.info({ deadlineFired: fired }, 'stopped');
    return fired;
  }
}

/** The license source's view of the configured ports. */
export function sourcePorts(ports: readonly PortConfig[]): SourcePort[] {
  return ports.map((port) => ({ name: port.name, listenPort: port.listen.port, expiryGraceMs: port.expiry_grace }));
}
