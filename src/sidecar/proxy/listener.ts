import { createServer, type Server, type Socket } from 'node:net';
import { formatHostPort, type HostPort } from '../../shared/address.ts';
import type { Clock } from '../../shared/clock.ts';
import type { ListenerConfig } from '../../shared/config/sidecar-schema.ts';
import type { Logger } from '../../shared/logger.ts';
import { unmapIPv4 } from '../../shared/cidr.ts';
import type { AccessHook, CloseReason } from './access-record.ts';
import { Connection, type ConnectionOwner } from './connection.ts';
import { decide, type DecisionContext } from './decide.ts';
import type { IdentityResolver, InboundResult } from '../identity/identity.ts';
import type { PortIdentity } from '../identity/resolver-factory.ts';
import type { LicenseSource } from '../licenses/source.ts';
import type { CachedLicense } from '../licenses/license.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';
import { nextConnectionId, PortAccounting } from './accounting.ts';
import { encodeProxyV2Header } from '../identity/proxy-protocol/encode.ts';
import type { UpstreamConnector } from './upstream.ts';

export interface PortListenerOptions {
  port: ListenerConfig;
  identity: PortIdentity;
  licenses: LicenseSource;
  clock: Clock;
  /** The authority's `clock_tolerance`, applied to `nbf`. */
  clockToleranceMs: number;
  logger: Logger;
  metrics: SidecarMetrics;
  onAccess?: AccessHook | undefined;
}

// accept back-off after EMFILE/ENFILE and the like: doubled per failure, capped
const minBackoffMs = 10;
const maxBackoffMs = 1_000;

/**
 * One configured port: a `node:net` server that resolves each caller's identity, decides on
 * the cached license and then forwards to the upstream, or refuses by closing. The connection
 * cap is enforced by the server itself (`maxConnections`), before any identity or upstream
 * work. Tracks its open connections with the license that admitted them, so a revocation or
 * expiry can close them.
 */
export class PortListener implements ConnectionOwner {
  readonly port: ListenerConfig;
  readonly name: string;
  readonly upstreamTarget: HostPort;
  connector: UpstreamConnector;
  /** Open, admitted connections. */
  readonly connections = new Set<Connection>();
  readonly #server: Server;
  readonly #licenses: LicenseSource;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #accounting: PortAccounting;
  readonly #decision: DecisionContext;
  readonly #preambleV2: boolean;
  #resolver: IdentityResolver;
  #address: HostPort | undefined;
  #accepting = false;
  #closing = false;
  #closed: Promise<void> | undefined;
  #backoffMs = 0;
  #backoffTimer: NodeJS.Timeout | undefined;
  #resuming = false;
  #drainWaiters: (() => void)[] = [];
  /** The timeout pass over open connections (see `#checkTimeouts`), running while any is open. */
  #timeoutTimer: NodeJS.Timeout | undefined;
  readonly #timeoutPeriodMs: number;

  constructor(options: PortListenerOptions) {
    const { port, metrics } = options;
    this.port = port;
    this.name = port.name;
    this.upstreamTarget = port.upstream;
    this.#resolver = options.identity.resolver;
    this.connector = options.identity.connector;
    this.#licenses = options.licenses;
    this.#clock = options.clock;
    this.#log = options.logger.child({ port: port.name });
    this.#preambleV2 = port.upstream_proxy_protocol === 'v2';
    this.#decision = { now: 0, clockToleranceMs: options.clockToleranceMs, expiryGraceMs: port.expiry_grace, authorityReachable: true };
    // a quarter of the shortest timeout, between 10 ms and 1 s: a timeout fires at most that late
    const timeouts = [port.timeouts.connect, port.timeouts.idle, port.timeouts.half_close].filter((ms) => ms > 0);
    this.#timeoutPeriodMs = Math.min(1_000, Math.max(10, Math.min(...timeouts, 4_000) / 4));
    this.#accounting = new PortAccounting({ port: port.name, metrics, logger: this.#log, clock: options.clock, onAccess: options.onAccess });

    // keep-alive is armed by the sweep, on connections that live long enough to need it
    this.#server = createServer({ allowHalfOpen: true, noDelay: true });
    this.#server.maxConnections = port.max_connections;
    this.#server.on('connection', this.#onConnection);
    this.#server.on('drop', this.#onDrop);
    this.#server.on('error', this.#onServerError);
  }

  /** The bound address (port 0 resolved), once listening. */
  get address(): HostPort | undefined {
    return this.#address;
  }

  get accepting(): boolean {
    return this.#accepting;
  }

  /** Binds the listener; rejects with the OS error (EADDRINUSE, EACCES, ...). */
  async listen(): Promise<HostPort> {
    const { host, port } = this.#address ?? this.port.listen;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    const bound = this.#server.address();
    if (bound && typeof bound === 'object') this.#address = { host: bound.address, port: bound.port };
    this.#accepting = true;
    return this.#address as HostPort;
  }

  /** Swaps the identity pieces for new connections (e.g. `identities` changed); open ones keep theirs. */
  setIdentity(identity: PortIdentity): Promise<void> {
    const previous = this.#resolver;
    this.#resolver = identity.resolver;
    this.connector = identity.connector;
    return previous === identity.resolver ? Promise.resolve() : previous.close();
  }

  /** Re-reads the resolver's key material, where it has any. */
  async reloadIdentity(): Promise<void> {
    await this.#resolver.reload?.();
  }

  /** Stops accepting; open connections continue. */
  stopAccepting(): void {
    this.#closing = true;
    clearTimeout(this.#backoffTimer);
    this.#backoffTimer = undefined;
    if (this.#accepting) this.#server.close();
    this.#accepting = false;
  }

  /** Resolves once every open connection has closed. */
  drained(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Cuts every open connection. */
  destroyAll(reason: CloseReason): void {
    for (const conn of this.connections) conn.destroy(reason);
  }

  /** Stops accepting, cuts what is open, releases the resolver. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.stopAccepting();
      this.destroyAll('shutdown');
      await this.drained();
      await this.#resolver.close();
    })();
    return this.#closed;
  }

  /**
   * Applies `on_revoke` to the open connections admitted under any of `lids`, whichever license
   * holds the port now (a replacement may have taken the revoked one's place first): `close`
   * cuts them, `drain` lets them finish.
   */
  licensesRevoked(lids: ReadonlySet<string>): void {
    if (this.port.on_revoke !== 'close') return;
    let closed = 0;
    for (const conn of this.connections) {
      // already cut (by the change that revoked the license in force, say) is not closed again
      if (conn.cutReason !== undefined || !lids.has(conn.lid)) continue;
      conn.destroy('revoked');
      closed++;
    }
    if (closed > 0) this.#log.info({ lids: [...lids], closed }, 'license revoked: open connections closed');
  }

  /**
   * Periodic pass: closes connections that outlived their license (`exp`, plus `expiry_grace`
   * while the authority is unreachable; renewals under the same `lid` extend it, also one that
   * is not in force because another license for the port expires later) or whose revocation
   * was missed, adds the bytes moved since the last pass to the counters, and arms TCP
   * keep-alive on connections that outlived a pass.
   */
  sweep(now: number): void {
    const license = this.#licenses.get(this.name);
    const grace = this.#licenses.authorityReachable ? 0 : this.port.expiry_grace;
    const enforce = this.port.on_revoke === 'close';
    for (const conn of this.connections) {
      this.#accounting.flushBytes(conn);
      if (!conn.keepAliveArmed) conn.armKeepAlive();
      if (!enforce) continue;
      // the license in force is its own latest token; another lid's is looked up once per pass
      const own = license !== undefined && license.claims.lid === conn.lid ? license : this.#licenses.byLid?.(conn.lid);
      if (own?.revoked) conn.destroy('revoked');
      else if (now >= (own?.expMs ?? conn.expMs) + grace) conn.destroy('expired');
    }
  }

  /**
   * One pass over the open connections for the port's timeouts, instead of up to three timers
   * per connection and a timer refresh per byte moved: `connect` (upstream not ready in time),
   * `half_close` (one side ended that long ago), `idle` (no byte either way).
   */
  readonly #checkTimeouts = (): void => {
    const now = performance.now();
    const { connect, idle, half_close: halfClose } = this.port.timeouts;
    for (const conn of this.connections) {
      if (!conn.connected) {
        if (connect > 0 && now - conn.openedAt >= connect) conn.connectTimedOut();
      } else if (halfClose > 0 && conn.halfOpen && now - conn.halfClosedAt >= halfClose) {
        conn.destroy('half_close_timeout');
      } else if (idle > 0 && now - conn.lastActive >= idle) {
        conn.idleTimedOut();
      }
    }
  };

  readonly #onConnection = (socket: Socket): void => {
    this.#backoffMs = 0;
    // a caller that reset before we looked has no peer address: nothing to decide on
    if (socket.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    const result = this.#resolver.resolve(socket);
    if (result instanceof Promise) {
      result.then(
        (resolved) => this.#admit(socket, resolved),
        (err: unknown) => {
          this.#log.warn({ err }, 'identity resolver failed');
          socket.destroy();
        },
      );
    } else {
      this.#admit(socket, result as InboundResult);
    }
  };

  #admit(socket: Socket, result: InboundResult): void {
    if (!result.ok) {
      this.#accounting.handshakeFailed(result.failure, result.detail, socket.remoteAddress);
      socket.destroy();
      return;
    }
    // resolvers hand back the socket itself or the TLS socket wrapping it
    const stream = result.stream as Socket;
    if (stream.destroyed || this.#closing) {
      stream.destroy();
      return;
    }
    const now = this.#clock.now();
    const license = this.#licenses.get(this.name);
    const ctx = this.#decision;
    ctx.now = now;
    ctx.authorityReachable = this.#licenses.authorityReachable;
    const decision = decide(license, result.identity, ctx);
    if (!decision.allow) {
      stream.destroy();
      this.#accounting.denied(decision.reason, result.identity, result.origin);
      return;
    }
    const { claims, expMs } = license as CachedLicense;
    const lid = claims.lid;
    this.#accounting.admitted();
    const conn = new Connection(this, nextConnectionId(), stream, result.identity, result.origin, lid, expMs, now);
    this.connections.add(conn);
    if (this.#timeoutTimer === undefined) {
      this.#timeoutTimer = setInterval(this.#checkTimeouts, this.#timeoutPeriodMs);
      this.#timeoutTimer.unref();
    }
    let preamble = result.head;
    if (this.#preambleV2) {
      const header = encodeProxyV2Header(result.origin, { address: socket.localAddress ?? '', port: socket.localPort ?? 0 });
      preamble = preamble ? Buffer.concat([header, preamble]) : header;
    }
    conn.open(preamble);
  }

  /** Over `max_connections`: the server closed the socket before we saw it. */
  readonly #onDrop = (data?: { remoteAddress?: string; remotePort?: number }): void => {
    this.#accounting.denied('max_connections', undefined, { address: unmapIPv4(data?.remoteAddress ?? ''), port: data?.remotePort ?? 0 });
  };

  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
    this.#accounting.closed(conn);
    if (this.connections.size === 0) {
      clearInterval(this.#timeoutTimer);
      this.#timeoutTimer = undefined;
    }
    if (this.connections.size === 0 && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  readonly #onServerError = (err: NodeJS.ErrnoException): void => {
    if (err.syscall === 'accept') this.acceptFailed(err);
    else if (this.#resuming) this.#resumeFailed(err);
    else this.#log.error({ err }, 'listener error');
  };

  /**
   * Accept failed (EMFILE, ENFILE, ENOBUFS, ...): count it and stop accepting for a while,
   * doubling the pause per failure, instead of spinning on a socket that cannot be served.
   * The listening socket is closed meanwhile, so callers are refused rather than left queued.
   * (libuv sheds most EMFILE bursts itself by closing what it cannot accept; what it reports
   * lands here.) Public so a drill can inject a failure.
   */
  acceptFailed(err: NodeJS.ErrnoException): void {
    this.#accounting.acceptFailed(err.code ?? 'unknown');
    if (!this.#accepting || this.#closing) return;
    this.#backoffMs = Math.min(maxBackoffMs, Math.max(minBackoffMs, this.#backoffMs * 2));
    this.#log.warn({ code: err.code, backoffMs: this.#backoffMs }, 'accept failed: pausing accepts');
    this.#accepting = false;
    this.#server.close();
    this.#scheduleResume();
  }

  /** Re-binding failed too (still out of descriptors): wait longer and try again. */
  #resumeFailed(err: NodeJS.ErrnoException): void {
    this.#resuming = false;
    this.#accounting.acceptFailed(err.code ?? 'unknown');
    this.#backoffMs = Math.min(maxBackoffMs, Math.max(minBackoffMs, this.#backoffMs * 2));
    if (!this.#closing) this.#scheduleResume();
  }

  #scheduleResume(): void {
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = undefined;
      if (this.#closing) return;
      const { host, port } = this.#address ?? this.port.listen;
      this.#resuming = true;
      this.#server.listen({ host, port }, () => {
        this.#resuming = false;
        if (this.#closing) {
          this.#server.close();
          return;
        }
        this.#accepting = true;
        this.#log.info({ listen: formatHostPort({ host, port }) }, 'accepting again');
      });
    }, this.#backoffMs);
  }
}
