import { isIP, type Socket } from 'node:net';
import { connect, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { isLoopbackHost, type HostPort } from '../../shared/address.ts';
import { unmapIPv4 } from '../../shared/cidr.ts';
import { ConfigError } from '../../shared/config/config-error.ts';
import { identityFromDer, identityMatches } from './tls/spiffe.ts';
import type { TlsMaterial } from './tls/material.ts';
import { keepAliveInitialDelay, type UpstreamConnector } from '../proxy/upstream.ts';
import type { IdentityResolver, InboundResult } from './identity.ts';

export interface OutboundOptions {
  /** This workload's certificate and key, and the CA the remote sidecar must chain to; owned from now on. */
  material: TlsMaterial;
  /** `identity.expect`: the remote's SPIFFE ID, exact or a `/*` prefix. */
  expect: string;
  /** `identity.handshake_timeout`: from TCP connect to a verified TLS session with the remote. */
  handshakeTimeoutMs: number;
  /** The port's `listen`, which must be loopback: the local app's leg is plaintext. */
  listen: HostPort;
  /** The port's key path in the configuration (`ports[0]`), for messages. */
  keyPath: string;
}

/** The code of the error an upstream with the wrong SPIFFE ID fails with (`portwarden_upstream_errors_total{code}`). */
export const spiffeMismatchCode = 'ERR_TLS_SPIFFE_ID_MISMATCH';
/** The code of the error when the remote does not finish its TLS handshake within `handshake_timeout`. */
export const handshakeTimeoutCode = 'ERR_TLS_HANDSHAKE_TIMEOUT';

/**
 * Identity mode `outbound`: the local app connects in plaintext over loopback, and the sidecar
 * carries the connection to a remote sidecar (the port's `upstream`) over mTLS, presenting this
 * workload's certificate and accepting only a remote whose chain verifies against `ca` and
 * whose SPIFFE ID matches `expect` (that check replaces hostname verification).
 *
 * Which license the port checks: the one for this port (`<service>/<port>`), like any port, and
 * the caller's identity is this workload's own SPIFFE ID — the single URI SAN of the certificate
 * the sidecar presents. A loopback address tells nothing about who is calling (everything local
 * is this workload), and this way the identity the local license admits is exactly the one the
 * remote sidecar then sees and checks against its own license. Revoking the port's license
 * stops the egress.
 */
export class OutboundIdentityResolver implements IdentityResolver {
  /** Opens the mTLS leg to the remote sidecar; the port uses it instead of a plain TCP connect. */
  readonly connector: UpstreamConnector;
  readonly #material: TlsMaterial;
  #closed: Promise<void> | undefined;

  constructor(options: OutboundOptions) {
    if (!isLoopbackHost(unmapIPv4(options.listen.host))) {
      const message = 'must be a loopback address (127.0.0.1, ::1 or localhost) in identity mode outbound: the local leg is plaintext';
      throw new ConfigError('config_invalid', [{ file: 'configuration', line: 0, key: `${options.keyPath}.listen`, message }]);
    }
    this.#material = options.material;
    this.connector = new OutboundConnector(options);
  }

  /** The local caller is this workload: its identity is the SPIFFE ID of the certificate in use. */
  resolve(socket: Socket): InboundResult {
    const origin = { address: unmapIPv4(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    return { ok: true, stream: socket, identity: this.#material.current.identity, origin };
  }

  /** Re-reads the certificate, key and CA; new connections use them. */
  async reload(): Promise<void> {
    await this.#material.reload();
  }

  /** Stops watching the files; open connections are the port's. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#material.close();
    return this.#closed;
  }
}

/** tls.connect to the remote sidecar with this workload's certificate, verifying its SPIFFE ID. */
class OutboundConnector implements UpstreamConnector {
  readonly readyEvent = 'secureConnect';
  readonly #material: TlsMaterial;
  readonly #expect: string;
  readonly #timeoutMs: number;

  constructor(options: OutboundOptions) {
    this.#material = options.material;
    this.#expect = options.expect;
    this.#timeoutMs = options.handshakeTimeoutMs;
  }

  connect(target: HostPort): Socket {
    const options: ConnectionOptions & { allowHalfOpen: boolean } = {
      host: target.host,
      port: target.port,
      // SNI carries names only; an IP address there is not allowed (RFC 6066, 3)
      servername: isIP(target.host) === 0 ? target.host : undefined,
      secureContext: this.#material.current.secureContext,
      rejectUnauthorized: true,
      checkServerIdentity: (_host, cert) => this.#checkPeer(cert),
      // half-close is forwarded end to end; tls.connect honours it, its type does not list it
      allowHalfOpen: true,
    };
    const socket = connect(options);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, keepAliveInitialDelay);
    // the port's connect timeout covers reaching the remote; this bounds the handshake after it
    socket.once('connect', () => {
      const timer = setTimeout(() => {
        const err = Object.assign(new Error(`the remote sidecar did not finish the TLS handshake within ${this.#timeoutMs}ms`), { code: handshakeTimeoutCode });
        socket.destroy(err);
      }, this.#timeoutMs);
      const clear = () => clearTimeout(timer);
      socket.once('secureConnect', clear);
      socket.once('close', clear);
    });
    return socket;
  }

  /** Called by node once the chain verified against `ca`: the remote's SPIFFE ID must match `expect`. */
  #checkPeer(cert: PeerCertificate): Error | undefined {
    const identity = cert.raw ? identityFromDer(cert.raw) : undefined;
    if (identity !== undefined && identityMatches(this.#expect, identity)) return undefined;
    const got = identity ?? 'no single SPIFFE ID';
    return Object.assign(new Error(`the remote sidecar presented ${got}; expected ${this.#expect}`), { code: spiffeMismatchCode });
  }
}
