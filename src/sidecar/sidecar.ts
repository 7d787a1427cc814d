import { formatHostPort, type HostPort } from '../shared/address.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import { formatDuration } from '../shared/duration.ts';
import { ConfigError, formatIssue, loadConfigFile } from '../shared/config/load.ts';
import type { PortConfig, SidecarConfig } from '../shared/config/sidecar-schema.ts';
import { PortwardenError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { AccessHook } from './proxy/access-record.ts';
import { AdminServer, type Readiness } from './admin/server.ts';
import { assertSafe, safeSidecarSchema } from './reload/safety.ts';
import { createPortIdentity, identityInputsChanged, type PortIdentityFactory } from './identity/resolver-factory.ts';
import { licensesForListen, type LicenseSource } from './licenses/source.ts';
import type { SidecarMetrics } from './admin/metrics.ts';
import { PortListener } from './proxy/listener.ts';
import { matchAddresses, planReload, type ReloadPlan } from './reload/plan.ts';
import { TransitionFollower, type FollowedLicenses } from './licenses/transition-follower.ts';

/** A port as the license source tracks it (a license's `port.number` must be one of its listen numbers). */
export interface SourcePort {
  name: string;
  /** The first listen number. */
  listenPort: number;
  /** Every listen number, each with its own license. */
  listenPorts?: readonly number[];
  expiryGraceMs?: number;
  /** `follow_transitions`: a license for another number of the port is accepted for that number. */
  followTransitions?: boolean;
}

/** The license source, plus what the real one (`LicenseSync`) offers beyond `LicenseSource`. */
export type SidecarLicenseSource = LicenseSource & {
  /** Called after a reload with the new port list. */
  updatePorts?(ports: readonly SourcePort[]): void | Promise<void>;
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

type State = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/**
 * The sidecar: one listener per listen address of each configured port (a port may listen on
 * several numbers, e.g. both numbers of a transition), the admin endpoint, and the glue to the
 * license source (revocations close connections, `exp` is enforced on open ones). Each listener
 * decides on the license for the number it listens on. `reload` applies a new configuration
 * without disturbing the ports and addresses it does not change.
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
  /** Each port's listeners, one per listen address, in the configured order. */
  readonly #listeners = new Map<string, PortListener[]>();
  /** Listeners of removed or changed ports and addresses, no longer accepting, until their connections end. */
  readonly #draining = new Set<PortListener>();
  #admin: AdminServer | undefined;
  /** Listeners on numbers licensed beyond the configured ones (`follow_transitions`). */
  readonly #follower: TransitionFollower;
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
    this.#onAccess = options.onAccess;
    this.#createIdentity = options.createPortIdentity ?? createPortIdentity;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 1_000;
    this.#follower = new TransitionFollower({
      licenses: this.#licenses,
      logger: this.#logger,
      metrics: this.#metrics,
      open: (port, address) => this.#openListener(port, address, this.#config),
      retire: (listener) => this.#drain(listener),
    });
  }

  /** The configuration in force. */
  get config(): SidecarConfig {
    return this.#config;
  }

  /** The bound address of each port's first listen address (port 0 resolved), by port name. */
  get addresses(): ReadonlyMap<string, string> {
    return new Map([...this.#listeners].map(([name, listeners]) => [name, boundAddress(listeners[0] as PortListener)]));
  }

  /**
   * Every bound listen address of each port (port 0 resolved), in the configured order, then
   * the transition numbers it follows, by port name.
   */
  get listenAddresses(): ReadonlyMap<string, readonly string[]> {
    return new Map([...this.#listeners].map(([name, listeners]) => [name, [...listeners, ...this.#follower.of(name)].map(boundAddress)]));
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
        const listeners = await this.#openPort(port, this.#config);
        this.#listeners.set(port.name, listeners);
        for (const listener of listeners) this.#logListening(listener);
      }
      this.#admin = await this.#openAdmin(this.#config);
    } catch (err) {
      await Promise.all(this.#allActive().map((listener) => listener.close()));
      this.#listeners.clear();
      this.#state = 'closed';
      throw err;
    }
    // a new, replaced or removed license may start or end a followed transition number
    this.#unsubscribe = this.#licenses.onChange(() => this.#scheduleFollow());
    // on_revoke: a revoked lid is unique to one license, so every listener cuts whatever it
    // admitted under it, whichever license holds the number now
    this.#unsubscribeRevoke = this.#licenses.onRevoke((lids) => {
      for (const listener of [...this.#allActive(), ...this.#draining]) listener.licensesRevoked(lids);
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
    this.#reloads = this.#reloads.then(async () => {
      this.#followPending = false;
      if (this.#state !== 'running') return;
      await this.#follower.reconcile(this.#config.ports);
    }).catch((err: unknown) => this.#logger.error({ err }, 'following transition numbers failed'));
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
   * and their connections are left alone. A port whose listen addresses alone changed keeps
   * the addresses it still lists, starts the new ones and drains the dropped ones.
   * `identities` applies to new connections. A refused configuration (unsafe, or changing
   * `service`/`authority`, or an address that cannot bind) changes nothing and throws.
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
    // each port's listener list after the reload, for ports that get new listeners
    const lists = new Map<string, PortListener[]>();
    const fresh: PortListener[] = [];
    const stopped: PortListener[] = [];
    const kept: PortListener[] = [];
    const adopted: PortListener[] = [];
    const stop = (old: PortListener) => {
      old.stopAccepting();
      stopped.push(old);
    };
    try {
      for (const port of plan.added) {
        const listeners = await this.#openPort(port, next);
        fresh.push(...listeners);
        lists.set(port.name, listeners);
      }
      for (const port of plan.changed) {
        // the new listeners may need the old ones' addresses: stop accepting there first
        this.#follower.stopPort(port.name);
        for (const old of this.#listenersOf(port.name)) stop(old);
        const listeners = await this.#openPort(port, next);
        fresh.push(...listeners);
        lists.set(port.name, listeners);
      }
      for (const port of plan.readdressed) {
        const { keep, drop } = matchAddresses(this.#listenersOf(port.name), port.listens);
        // a number the port already follows and the file now lists is adopted as it is, with its connections
        for (const [index, address] of port.listens.entries()) {
          const followed = keep[index] === undefined ? this.#follower.find(port.name, address) : undefined;
          if (followed !== undefined && !keep.includes(followed)) {
            keep[index] = followed;
            adopted.push(followed);
          }
        }
        for (const old of drop) stop(old);
        const listeners: PortListener[] = [];
        for (const [index, address] of port.listens.entries()) {
          let listener = keep[index];
          if (listener === undefined) fresh.push((listener = await this.#openListener(port, address, next)));
          else kept.push(listener);
          listeners.push(listener);
        }
        lists.set(port.name, listeners);
      }
    } catch (err) {
      await Promise.all(fresh.map((listener) => listener.close()));
      await this.#restoreAccepting(stopped, previous);
      this.#refused(err);
      throw err;
    }
    for (const name of plan.removed) {
      this.#follower.stopPort(name);
      for (const old of this.#listenersOf(name)) stop(old);
      this.#listeners.delete(name);
    }
    for (const listener of adopted) this.#follower.forget(listener);
    for (const old of stopped) this.#drain(old);
    for (const [name, listeners] of lists) this.#listeners.set(name, listeners);
    const untouched = [...plan.unchanged.flatMap((port) => this.#listenersOf(port.name)), ...kept, ...this.#follower.listeners()];
    for (const listener of untouched) {
      if (identityInputsChanged(listener.port, previous, next)) await listener.setIdentity(await this.#createIdentity(listener.port, { config: next, logger: this.#logger, metrics: this.#metrics, clock: this.#clock }));
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
    this.#follower.forgetFailures();
    this.#metrics.configReloadsTotal.inc({ result: 'applied' });
    this.#logger.info(
      {
        added: plan.added.map((p) => p.name),
        removed: plan.removed,
        changed: plan.changed.map((p) => p.name),
        readdressed: plan.readdressed.map((p) => p.name),
        adopted: adopted.map(boundAddress),
      },
      'configuration reloaded',
    );
    for (const listener of fresh) this.#logListening(listener);
    this.#scheduleFollow();
  }

  /** A listener stopped for a replacement that could not bind gets a fresh one on its old settings, in its place. */
  async #restoreAccepting(stopped: PortListener[], config: SidecarConfig): Promise<void> {
    for (const old of stopped) {
      try {
        const again = await this.#openListener(old.port, old.port.listen, config);
        this.#drain(old);
        const listeners = this.#listenersOf(old.name);
        const index = listeners.indexOf(old);
        if (index >= 0) listeners[index] = again;
      } catch (err) {
        this.#logger.error({ err, port: old.name, listen: formatHostPort(old.port.listen) }, 'cannot listen again on the old settings');
      }
    }
  }

  #refused(err: unknown): void {
    this.#metrics.configReloadsTotal.inc({ result: 'refused' });
    const issues = err instanceof ConfigError ? err.issues.map(formatIssue) : undefined;
    this.#logger.error({ issues, code: (err as PortwardenError).code, detail: issues ? undefined : String(err) }, 'configuration reload refused; the old configuration keeps running');
  }

  /** One listener per listen address of `port`; if one cannot bind, those already bound close and it throws. */
  async #openPort(port: PortConfig, config: SidecarConfig): Promise<PortListener[]> {
    const listeners: PortListener[] = [];
    try {
      for (const address of port.listens) listeners.push(await this.#openListener(port, address, config));
    } catch (err) {
      await Promise.all(listeners.map((listener) => listener.close()));
      throw err;
    }
    return listeners;
  }

  /**
   * A listener on one of `port`'s addresses: it sees the port with `listen` set to that address,
   * and the license source through a view that answers for that listen number.
   */
  async #openListener(portConfig: PortConfig, address: HostPort, config: SidecarConfig): Promise<PortListener> {
    const port: PortConfig = { ...portConfig, listen: address };
    const identity = await this.#createIdentity(port, { config, logger: this.#logger, metrics: this.#metrics, clock: this.#clock });
    const listener = new PortListener({
      port,
      identity,
      licenses: licensesForListen(this.#licenses, address.port),
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

  #drain(listener: PortListener): void {
    this.#draining.add(listener);
    void listener.drained().then(async () => {
      this.#draining.delete(listener);
      await listener.close();
    });
  }

  /** The port's accepting listeners (empty for an unknown port). */
  #listenersOf(name: string): PortListener[] {
    return this.#listeners.get(name) ?? [];
  }

  /** Every accepting listener: configured, then followed. */
  #allActive(): PortListener[] {
    return [...[...this.#listeners.values()].flat(), ...this.#follower.listeners()];
  }

  *#listenersNamed(name: string): Iterable<PortListener> {
    yield* this.#listenersOf(name);
    yield* this.#follower.of(name);
    for (const listener of this.#draining) if (listener.name === name) yield listener;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const listener of this.#allActive()) listener.sweep(now);
    for (const listener of this.#draining) listener.sweep(now);
    // a followed number whose license expired stops listening
    this.#scheduleFollow();
  }

  /**
   * `/readyz`: ready while running and every port holds a license that admits now (a port on
   * several numbers: on one of them at least, see `bestOf` in license-health.ts).
   */
  readiness(): Readiness {
    const statuses = [...this.#listeners.keys()].map((name) => ({ name, status: this.#licenses.status(name) }));
    const ports = statuses.map(({ name, status }) => ({ name, health: status.health }));
    if (this.#state !== 'running') return { ready: false, reason: this.#state === 'new' || this.#state === 'starting' ? 'starting' : 'shutting_down', ports };
    const failing = statuses.filter(({ status }) => status.admitting !== true);
    if (failing.length === 0) return { ready: true, ports };
    return { ready: false, reason: `no license admits on ${failing.map((port) => port.name).join(', ')}`, ports };
  }

  /** `/healthz`: running, and every listener is accepting (not backing off after accept errors). */
  healthy(): boolean {
    return this.#state === 'running' && this.#allActive().every((listener) => listener.accepting);
  }

  /**
   * `/status`: the service, each port with its address, open connections and license. A port
   * on several addresses also lists each (`listens`) with its own connections and the license
   * for its number.
   */
  status(): unknown {
    const lastSyncAt = this.#licenses.lastSyncAt;
    return {
      service: this.#config.service,
      state: this.#state,
      ready: this.readiness().ready,
      authorityReachable: this.#licenses.authorityReachable,
      lastSync: lastSyncAt === undefined ? undefined : new Date(lastSyncAt).toISOString(),
      ports: [...this.#listeners].map(([name, listeners]) => {
        const first = listeners[0] as PortListener;
        let activeConnections = 0;
        for (const listener of this.#listenersNamed(name)) activeConnections += listener.connections.size;
        const followed = this.#follower.of(name);
        const listens =
          listeners.length + followed.length > 1
            ? [...listeners, ...followed].map((listener) => ({
                listen: boundAddress(listener),
                // listened on because the authority licensed the number (a transition), not because the file lists it
                followed: followed.includes(listener) ? true : undefined,
                accepting: listener.accepting,
                activeConnections: listener.connections.size,
                license: this.#licenses.status(name, listener.port.listen.port),
              }))
            : undefined;
        return {
          name,
          listen: boundAddress(first),
          upstream: formatHostPort(first.port.upstream),
          identity: first.port.identity.mode,
          // how long past `exp` the port admits while the authority is unreachable
          expiryGrace: formatDuration(first.port.expiry_grace),
          onRevoke: first.port.on_revoke,
          accepting: listeners.every((listener) => listener.accepting),
          activeConnections,
          license: this.#licenses.status(name),
          listens,
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
    this.#unsubscribeRevoke?.();
    clearInterval(this.#sweepTimer);
    const all = [...this.#allActive(), ...this.#draining];
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
  return ports.map((port) => ({
    name: port.name,
    listenPort: port.listen.port,
    listenPorts: port.listens.map((address) => address.port),
    expiryGraceMs: port.expiry_grace,
    followTransitions: port.follow_transitions,
  }));
}

/** `host:port` a listener is bound to (port 0 resolved), or its configured address before it binds. */
function boundAddress(listener: PortListener): string {
  return formatHostPort(listener.address ?? listener.port.listen);
}
