import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { unmapIPv4 } from '../../shared/cidr.ts';
import { certificateIdentity } from './tls/spiffe.ts';
import type { TlsMaterial } from './tls/material.ts';
import type { HandshakeFailure, IdentityResolver, InboundResult, Origin } from './identity.ts';

export interface MtlsResolverOptions {
  /** The port's certificate, key and client CA bundle; owned (closed) by the resolver from now on. */
  material: TlsMaterial;
  /** `identity.handshake_timeout`: a hard deadline from accept to a finished handshake. */
  handshakeTimeoutMs: number;
}

interface Pending {
  readonly resolve: (result: InboundResult) => void;
  readonly origin: Origin;
  readonly timer: NodeJS.Timeout;
  /** The accepted socket's half-open setting, given back to the TLS socket once the handshake is done. */
  readonly allowHalfOpen: boolean;
}

/**
 * Identity mode `mtls`: TLS (1.2 or later) is terminated here, the client must present a
 * certificate that chains to the configured CA, and the identity is that certificate's single
 * URI SAN, read from its DER, when it is a SPIFFE ID; none, several, or one that is not a SPIFFE
 * ID give `no_identity` at the decision.
 *
 * Why a never-listening `tls.Server` fed with `emit('connection')` rather than a bare
 * `new tls.TLSSocket(socket, { isServer: true, rejectUnauthorized: true })`: a bare server-side
 * TLSSocket does not enforce `rejectUnauthorized` — only `tls.Server` checks the verification
 * result — so a certificate from another CA, or an expired one, would complete the handshake.
 * The server also gives `setSecureContext`, so rotated material applies to new handshakes while
 * open connections keep theirs.
 */
export class MtlsIdentityResolver implements IdentityResolver {
  readonly #material: TlsMaterial;
  readonly #timeoutMs: number;
  readonly #server: Server;
  readonly #pending = new Map<Socket, Pending>();
  readonly #unsubscribe: () => void;
  #closed: Promise<void> | undefined;

  constructor(options: MtlsResolverOptions) {
    this.#material = options.material;
    this.#timeoutMs = options.handshakeTimeoutMs;
    this.#server = createServer({ ...options.material.current.options, requestCert: true, rejectUnauthorized: true });
    this.#server.on('secureConnection', this.#onSecure);
    this.#server.on('tlsClientError', this.#onClientError);
    this.#unsubscribe = options.material.onChange((snapshot) => this.#server.setSecureContext(snapshot.options));
  }

  /** Runs the handshake on `socket`; resolves with the TLS socket and the client's identity, or a failure (the socket then destroyed). */
  resolve(socket: Socket): Promise<InboundResult> {
    if (this.#closed) {
      socket.destroy();
      return Promise.resolve({ ok: false, failure: 'tls_handshake_failed', detail: 'closing' });
    }
    const origin = { address: unmapIPv4(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#fail(socket, 'tls_handshake_timeout'), this.#timeoutMs);
      this.#pending.set(socket, { resolve, origin, timer, allowHalfOpen: socket.allowHalfOpen });
      // the TLS socket takes this setting over: a half-open one ignores an EOF mid-handshake and
      // sits out the deadline (a client that gave up on our certificate); half-close returns after
      socket.allowHalfOpen = false;
      // a socket that goes away without a TLS event (reset early) still settles; the TLS
      // events of the same close come first, so they keep their detail
      socket.once('close', () => setImmediate(() => this.#fail(socket, 'tls_handshake_failed', 'closed')));
      this.#server.emit('connection', socket);
    });
  }

  /** Re-reads the certificate, key and CA; new handshakes use them, a broken file keeps the old. */
  async reload(): Promise<void> {
    await this.#material.reload();
  }

  /** Cuts handshakes in progress and stops watching the files. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#unsubscribe();
      for (const socket of [...this.#pending.keys()]) this.#fail(socket, 'tls_handshake_failed', 'closing');
      await this.#material.close();
    })();
    return this.#closed;
  }

  readonly #onSecure = (tlsSocket: TLSSocket): void => {
    const pending = this.#take(tlsSocket);
    if (!pending) {
      tlsSocket.destroy();
      return;
    }
    tlsSocket.allowHalfOpen = pending.allowHalfOpen;
    const identity = certificateIdentity(tlsSocket.getPeerX509Certificate());
    pending.resolve({ ok: true, stream: tlsSocket, identity, origin: pending.origin });
  };

  readonly #onClientError = (err: NodeJS.ErrnoException, tlsSocket: TLSSocket): void => {
    // with a listener here, node leaves the socket open: closing it is ours to do
    tlsSocket.destroy();
    const pending = this.#take(tlsSocket);
    if (!pending) return;
    // a refused certificate surfaces as a reset; its verification error says why
    const detail = tlsSocket.authorizationError ? String(tlsSocket.authorizationError) : (err.code ?? err.message);
    const failure: HandshakeFailure = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'tls_handshake_timeout' : 'tls_handshake_failed';
    pending.resolve({ ok: false, failure, detail });
  };

  /** The pending handshake of the raw socket under `tlsSocket`, removed from the table. */
  #take(tlsSocket: TLSSocket): Pending | undefined {
    // tls.Server keeps the accepted socket as `_parent`; there is no public way back to it
    const raw = (tlsSocket as TLSSocket & { _parent?: Socket })._parent;
    if (raw === undefined) return undefined;
    const pending = this.#pending.get(raw);
    if (!pending) return undefined;
    this.#pending.delete(raw);
    clearTimeout(pending.timer);
    return pending;
  }

  #fail(socket: Socket, failure: HandshakeFailure, detail?: string): void {
    const pending = this.#pending.get(socket);
    if (!pending) return;
    this.#pending.delete(socket);
    clearTimeout(pending.timer);
    socket.destroy();
    pending.resolve(detail === undefined ? { ok: false, failure } : { ok: false, failure, detail });
  }
}
