import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** Where a connection comes from: the peer address, or the one a trusted PROXY header names. */
export interface Origin {
  address: string;
  port: number;
}

/** Why an identity step closed a connection before any decision; counted, never a deny reason. */
export type HandshakeFailure =
  | 'tls_handshake_failed'
  | 'tls_handshake_timeout'
  | 'proxy_header_invalid'
  | 'proxy_header_timeout'
  | 'proxy_untrusted_source';

export type InboundResult =
  | {
      readonly ok: true;
      /** The stream to forward: the socket itself, or the TLS socket wrapping it. */
      readonly stream: Duplex;
      /** The caller's workload identity; undefined gives the deny reason `no_identity`. */
      readonly identity: string | undefined;
      readonly origin: Origin;
      /** Bytes already read past a PROXY header, to be written upstream first. */
      readonly head?: Buffer;
    }
  | { readonly ok: false; readonly failure: HandshakeFailure; readonly detail?: string };

/**
 * The seam between accepting a socket and deciding on it: each identity mode (`source`,
 * `mtls`, `proxy-protocol`, `outbound`) turns a fresh socket into an identity and origin.
 * `source` answers synchronously so the plain path costs no promise.
 */
export interface IdentityResolver {
  resolve(socket: Socket): InboundResult | Promise<InboundResult>;
  /** Re-reads key material (certificates) after a change; keeps the old on failure. */
  reload?(): Promise<void>;
  close(): Promise<void>;
}
