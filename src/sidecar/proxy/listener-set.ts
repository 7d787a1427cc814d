import { formatHostPort, type HostPort } from '../../shared/address.ts';
import type { Clock } from '../../shared/clock.ts';
import { listenerConfig, type PortConfig, type SidecarConfig } from '../../shared/config/sidecar-schema.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';
import type { PortIdentityFactory } from '../identity/resolver-factory.ts';
import { licensesForListen, type LicenseSource } from '../licenses/source.ts';
import type { AccessHook } from './access-record.ts';
import { PortListener } from './listener.ts';
import { TransitionFollower, type FollowedLicenses } from './transition-follower.ts';

export interface ListenerSetOptions {
  licenses: LicenseSource & Pick<FollowedLicenses, 'followedNumbers'>;
  logger: Logger;
  metrics: SidecarMetrics;
  clock: Clock;
  onAccess: AccessHook | undefined;
  createIdentity: PortIdentityFactory;
  /** The configuration in force, for the listeners the follower opens. */
  config(): SidecarConfig;
}

/**
 * Every listener of the sidecar: each configured port's, one per listen address in the
 * configured order; the transition numbers the follower listens on; and the listeners that
 * stopped accepting (removed, changed, replaced) until their connections end.
 */
export class ListenerSet {
  readonly #o: ListenerSetOptions;
  readonly #byPort = new Map<string, PortListener[]>();
  readonly #draining = new Set<PortListener>();
  readonly follower: TransitionFollower;

  constructor(options: ListenerSetOptions) {
    this.#o = options;
    this.follower = new TransitionFollower({
      licenses: options.licenses,
      logger: options.logger,
      metrics: options.metrics,
      open: (port, address) => this.openListener(port, address, options.config()),
      retire: (listener) => this.drain(listener),
    });
  }

  /** Configured port names, in the configured order. */
  names(): string[] {
    return [...this.#byPort.keys()];
  }

  /** The port's accepting configured listeners (empty for an unknown port). */
  of(name: string): PortListener[] {
    return this.#byPort.get(name) ?? [];
  }

  /** Puts `listeners` in place as the port's configured listeners. */
  set(name: string, listeners: PortListener[]): void {
    this.#byPort.set(name, listeners);
  }

  /** Forgets a removed port's configured listeners (stop and drain them first). */
  delete(name: string): void {
    this.#byPort.delete(name);
  }

  /** Every accepting listener: configured, then followed. */
  active(): PortListener[] {
    return [...[...this.#byPort.values()].flat(), ...this.follower.listeners()];
  }

  /** Every listener that may hold connections: accepting or draining. */
  all(): PortListener[] {
    return [...this.active(), ...this.#draining];
  }

  /** A port's listeners of every kind: configured, followed and draining. */
  *named(name: string): Iterable<PortListener> {
    yield* this.of(name);
    yield* this.follower.of(name);
    for (const listener of this.#draining) if (listener.name === name) yield listener;
  }

  /** Takes a listener that stopped accepting: it closes once its connections end. */
  drain(listener: PortListener): void {
    this.#draining.add(listener);
    void listener.drained().then(async () => {
      this.#draining.delete(listener);
      await listener.close();
    });
  }

  /** One listener per listen address of `port`; if one cannot bind, those already bound close and it throws. */
  async openPort(port: PortConfig, config: SidecarConfig): Promise<PortListener[]> {
    const listeners: PortListener[] = [];
    try {
      for (const address of port.listens) listeners.push(await this.openListener(port, address, config));
    } catch (err) {
      await Promise.all(listeners.map((listener) => listener.close()));
      throw err;
    }
    return listeners;
  }

  /**
   * A listener on one of `port`'s addresses (or a followed number), deciding on the license for
   * that number; throws `listen_failed` naming the port and address when it cannot bind.
   */
  async openListener(port: PortConfig, address: HostPort, config: SidecarConfig): Promise<PortListener> {
    const { logger, metrics, clock } = this.#o;
    const settings = listenerConfig(port, address);
    const identity = await this.#o.createIdentity(settings, { config, logger, metrics, clock });
    const listener = new PortListener({
      port: settings,
      identity,
      licenses: licensesForListen(this.#o.licenses, address.port),
      clock,
      clockToleranceMs: config.authority.clock_tolerance,
      logger,
      metrics,
      onAccess: this.#o.onAccess,
    });
    try {
      await listener.listen();
    } catch (cause) {
      await listener.close();
      const code = (cause as NodeJS.ErrnoException).code ?? 'error';
      throw new PortwardenError('listen_failed', `port "${port.name}": cannot listen on ${formatHostPort(address)} (${code})`, { cause });
    }
    return listener;
  }

  /** Closes every listener at once and forgets the configured ones (after a failed start, or at the end of shutdown). */
  async closeAll(): Promise<void> {
    const all = this.all();
    this.#byPort.clear();
    await Promise.all(all.map((listener) => listener.close()));
  }
}

/** `host:port` a listener is bound to (port 0 resolved), or its configured address before it binds. */
export function boundAddress(listener: PortListener): string {
  return formatHostPort(listener.address ?? listener.port.listen);
}
