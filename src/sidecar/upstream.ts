import { connect, type Socket } from 'node:net';
import type { HostPort } from '../shared/address.ts';

/**
 * How a port reaches its upstream. The plain connector is a TCP connect; identity mode
 * `outbound` swaps in one that speaks mTLS to a remote sidecar. The returned socket emits
 * `readyEvent` once bytes may flow and `error` when the upstream cannot be reached.
 */
export interface UpstreamConnector {
  connect(target: HostPort): Socket;
  /** `connect` for TCP; `secureConnect` for a TLS socket, so a failed handshake counts as an upstream error. */
  readonly readyEvent: 'connect' | 'secureConnect';
}

// keep-alive finds peers that vanished without a FIN; the delay matches common LB defaults
export const keepAliveInitialDelay = 60_000;

/** Plain TCP to the upstream: no Nagle delay, half-close allowed; keep-alive is armed by the port's sweep (`Connection.armKeepAlive`). */
export const plainUpstreamConnector: UpstreamConnector = {
  readyEvent: 'connect',
  connect(target) {
    return connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
  },
};
