import { formatHostPort, type HostPort } from '../../shared/address.ts';
import type { PortConfig } from '../../shared/config/sidecar-schema.ts';
import type { Logger } from '../../shared/logger.ts';
import type { CloseReason } from './access-record.ts';
import { reservedRangeOf } from '../reload/safety.ts';
import type { LicenseSource } from '../licenses/source.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';
import type { PortListener } from './listener.ts';

/** What the follower reads of the license source: each number's license and the numbers held beyond the configured ones. */
export type FollowedLicenses = Pick<LicenseSource, 'get' | 'status'> & {
  /** Numbers the port holds a license for that its configuration does not list. */
  followedNumbers?(portName: string): readonly number[];
};

export interface TransitionFollowerOptions {
  licenses: FollowedLicenses;
  logger: Logger;
  metrics: Pick<SidecarMetrics, 'followListenFailuresTotal'>;
  /** Binds a listener for `port` on `address` with the configuration in force (the sidecar's own listener factory); throws `listen_failed`. */
  open(port: PortConfig, address: HostPort): Promise<PortListener>;
  /** Takes a listener that stopped accepting: it closes once its connections end. */
  retire(listener: PortListener): void;
}

/**
 * `follow_transitions`: a port configured on one number that holds a license for another one
 * (a transition's new number) listens on that number too, on the host of its first listen
 * address, while that license admits. Each followed number is one more `PortListener`, decided
 * on its own license like a configured address. When the license is gone (revoked, expired,
 * dropped by the authority), the listener stops accepting, its connections follow `on_revoke`,
 * and it closes. Configured listeners are never touched here.
 */
export class TransitionFollower {
  readonly #options: TransitionFollowerOptions;
  readonly #log: Logger;
  /** Followed listeners, by port name and number. */
  readonly #byPort = new Map<string, Map<number, PortListener>>();
  /** `port:number` -> the `jti` a listen failed under: tried again for a new token or after a reload. */
  readonly #failed = new Map<string, string | undefined>();
  /** `port:number` pairs whose "put it in listen" hint was logged. */
  readonly #hinted = new Set<string>();

  constructor(options: TransitionFollowerOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'transition-follower' });
  }

  /** Every followed listener. */
  listeners(): PortListener[] {
    return [...this.#byPort.values()].flatMap((byNumber) => [...byNumber.values()]);
  }

  /** The port's followed listeners. */
  of(name: string): PortListener[] {
    return [...(this.#byPort.get(name)?.values() ?? [])];
  }

  /** The followed listener of `name` bound to `address`, which a reload listing it may adopt. */
  find(name: string, address: HostPort): PortListener | undefined {
    const listener = this.#byPort.get(name)?.get(address.port);
    return listener !== undefined && listener.port.listen.host === address.host ? listener : undefined;
  }

  /** Lets go of a listener the configuration adopted: it is a configured one from now on. */
  forget(listener: PortListener): void {
    const byNumber = this.#byPort.get(listener.name);
    if (byNumber?.get(listener.port.listen.port) !== listener) return;
    byNumber.delete(listener.port.listen.port);
    if (byNumber.size === 0) this.#byPort.delete(listener.name);
  }

  /** Stops the port's followed listeners for a reload that restarts or removes the port; their connections drain. */
  stopPort(name: string): void {
    for (const listener of this.of(name)) this.#stop(listener, undefined, 'the port restarts or is removed');
    this.#byPort.delete(name);
  }

  /** After a reload: numbers that failed to bind are tried again. */
  forgetFailures(): void {
    this.#failed.clear();
  }

  /**
   * Brings the followed listeners in line with the licenses: opens a listener for each number
   * whose license admits now, stops the ones whose license no longer does. `ports` is the
   * configuration in force. Never throws: a number that cannot bind is logged and counted.
   */
  async reconcile(ports: readonly PortConfig[]): Promise<void> {
    const configured = new Set(ports.map((port) => port.name));
    for (const name of this.#byPort.keys()) if (!configured.has(name)) this.stopPort(name);
    for (const port of ports) {
      const wanted = new Set(follows(port) ? this.#admitting(port.name) : []);
      const byNumber = this.#byPort.get(port.name) ?? new Map<number, PortListener>();
      for (const [number, listener] of byNumber) {
        if (wanted.has(number)) continue;
        byNumber.delete(number);
        // a license still held and not revoked stopped admitting by time; otherwise it was revoked or withdrawn
        const license = this.#options.licenses.get(port.name, number);
        const cut = license !== undefined && !license.revoked ? 'expired' : 'revoked';
        this.#stop(listener, cut, this.#options.licenses.status(port.name, number).problem ?? 'no license');
      }
      for (const number of wanted) {
        if (byNumber.has(number)) continue;
        const listener = await this.#follow(port, number);
        if (listener !== undefined) byNumber.set(number, listener);
      }
      if (byNumber.size === 0) this.#byPort.delete(port.name);
      else this.#byPort.set(port.name, byNumber);
      this.#hint(port, [...byNumber.keys()]);
    }
  }

  /** The port's numbers beyond its configured one whose license admits now. */
  #admitting(name: string): number[] {
    const { licenses } = this.#options;
    return (licenses.followedNumbers?.(name) ?? []).filter((number) => licenses.status(name, number).admitting === true);
  }

  async #follow(port: PortConfig, number: number): Promise<PortListener | undefined> {
    const key = `${port.name}:${number}`;
    const jti = this.#options.licenses.get(port.name, number)?.claims.jti;
    if (this.#failed.has(key) && this.#failed.get(key) === jti) return undefined;
    const address = { host: port.listens[0].host, port: number };
    const reserved = reservedRangeOf(number);
    if (reserved !== undefined && !port.allow_reserved_listen) {
      this.#failedToListen(key, jti, port.name, address, 'reserved', `port ${number} is reserved (${reserved}); set allow_reserved_listen: true to listen on it`);
      return undefined;
    }
    try {
      const listener = await this.#options.open(port, address);
      this.#failed.delete(key);
      this.#log.info({ port: port.name, listen: formatHostPort(listener.address ?? address), upstream: formatHostPort(port.upstream), followed: true }, 'listening on a transition number');
      return listener;
    } catch (err) {
      const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
      this.#failedToListen(key, jti, port.name, address, cause?.code ?? 'error', err instanceof Error ? err.message : String(err));
      return undefined;
    }
  }

  #failedToListen(key: string, jti: string | undefined, name: string, address: HostPort, code: string, detail: string): void {
    this.#failed.set(key, jti);
    this.#options.metrics.followListenFailuresTotal.inc({ port: name, code });
    this.#log.error({ port: name, listen: formatHostPort(address), code, detail }, 'cannot listen on a transition number; callers there are refused');
  }

  /** Stops accepting; with `cut`, `on_revoke: close` cuts what is open for that reason; the rest drains, then the listener closes. */
  #stop(listener: PortListener, cut: CloseReason | undefined, why: string): void {
    listener.stopAccepting();
    const open = listener.connections.size;
    if (cut !== undefined && listener.port.on_revoke === 'close') listener.destroyAll(cut);
    this.#log.info({ port: listener.name, listen: formatHostPort(listener.address ?? listener.port.listen), open, onRevoke: listener.port.on_revoke, why }, 'stopped listening on a transition number');
    this.#options.retire(listener);
  }

  /** Once per port and number: the configured number no longer admits while a followed one does, so the file should say so. */
  #hint(port: PortConfig, followed: number[]): void {
    if (followed.length === 0 || this.#options.licenses.status(port.name, port.listens[0].port).admitting === true) return;
    for (const number of followed) {
      const key = `${port.name}:${number}`;
      if (this.#hinted.has(key)) continue;
      this.#hinted.add(key);
      this.#log.warn(
        { port: port.name, configured: port.listens[0].port, followed: number },
        `port "${port.name}" is licensed on ${number}, not on its configured number ${port.listens[0].port}: put ${formatHostPort({ host: port.listens[0].host, port: number })} in ports[].listen and reload`,
      );
    }
  }
}

/** Whether `port` follows transitions: asked to, and configured on exactly one number, not 0. */
export function follows(port: PortConfig): boolean {
  const numbers = new Set(port.listens.map((address) => address.port));
  return port.follow_transitions && numbers.size === 1 && !numbers.has(0);
}
