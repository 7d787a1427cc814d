import { connect, type OnReadOpts, type Socket } from 'node:net';
import type { HostPort } from '../../shared/address.ts';

/**
 * How a port reaches its upstream. The plain connector is a TCP connect; identity mode
 * `outbound` swaps in one that speaks mTLS to a remote sidecar. The returned socket emits
 * `readyEvent` once bytes may flow and `error` when the upstream cannot be reached.
 */
export interface UpstreamConnector {
  /** `onread` is honoured where `readsIntoBuffer` says so: the socket then reads into that buffer and emits no `data`. */
  connect(target: HostPort, onread?: OnReadOpts): Socket;
  /** `connect` for TCP; `secureConnect` for a TLS socket, so a failed handshake counts as an upstream error. */
  readonly readyEvent: 'connect' | 'secureConnect';
  /** True when `connect` honours `onread` (plain TCP; a TLS socket cannot read into a caller's buffer). */
  readonly readsIntoBuffer?: boolean;
}

// keep-alive finds peers that vanished without a FIN; the delay matches common LB defaults
export const keepAliveInitialDelay = 60_000;

/** Plain TCP to the upstream: no Nagle delay, half-close allowed; keep-alive is armed by the port's sweep (`Connection.armKeepAlive`). */
export const plainUpstreamConnector: UpstreamConnector = {
  readyEvent: 'connect',
  readsIntoBuffer: true,
  connect(target, onread) {
    return connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true, onread });
  },
};
