import { formatHostPort } from '../../shared/address.ts';
import { formatDuration } from '../../shared/duration.ts';
import type { SidecarConfig } from '../../shared/config/sidecar-schema.ts';
import type { LicenseSource } from '../licenses/source.ts';
import type { PortListener } from '../proxy/listener.ts';
import { boundAddress, type ListenerSet } from '../proxy/listener-set.ts';
import type { Readiness } from './server.ts';

/** Where the sidecar is in its life. */
export type SidecarState = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/** What the admin reports read of the sidecar. */
export interface StatusView {
  state: SidecarState;
  config: SidecarConfig;
  listeners: ListenerSet;
  licenses: Pick<LicenseSource, 'status' | 'authorityReachable'> & { readonly lastSyncAt?: number | undefined };
}

/**
 * `/readyz`: ready while running and every port holds a license that admits now (a port on
 * several numbers: on one of them at least, see `bestOf` in licenses/health.ts).
 */
export function readiness({ state, listeners, licenses }: StatusView): Readiness {
  const statuses = listeners.names().map((name) => ({ name, status: licenses.status(name) }));
  const ports = statuses.map(({ name, status }) => ({ name, health: status.health }));
  if (state !== 'running') return { ready: false, reason: state === 'new' || state === 'starting' ? 'starting' : 'shutting_down', ports };
  const failing = statuses.filter(({ status }) => status.admitting !== true);
  if (failing.length === 0) return { ready: true, ports };
  return { ready: false, reason: `no license admits on ${failing.map((port) => port.name).join(', ')}`, ports };
}

/** `/healthz`: running, and every listener is accepting (not backing off after accept errors). */
export function healthy({ state, listeners }: StatusView): boolean {
  return state === 'running' && listeners.active().every((listener) => listener.accepting);
}

/**
 * `/status`: the service, each port with its address, open connections and license. A port
 * on several addresses also lists each (`listens`) with its own connections and the license
 * for its number.
 */
export function statusReport(view: StatusView): unknown {
  const { state, config, listeners, licenses } = view;
  const lastSyncAt = licenses.lastSyncAt;
  return {
    service: config.service,
    state,
    ready: readiness(view).ready,
    authorityReachable: licenses.authorityReachable,
    lastSync: lastSyncAt === undefined ? undefined : new Date(lastSyncAt).toISOString(),
    ports: listeners.names().map((name) => {
      const configured = listeners.of(name);
      const first = configured[0] as PortListener;
      let activeConnections = 0;
      for (const listener of listeners.named(name)) activeConnections += listener.connections.size;
      const followed = listeners.follower.of(name);
      const listens =
        configured.length + followed.length > 1
          ? [...configured, ...followed].map((listener) => ({
              listen: boundAddress(listener),
              // listened on because the authority licensed the number (a transition), not because the file lists it
              followed: followed.includes(listener) ? true : undefined,
              accepting: listener.accepting,
              activeConnections: listener.connections.size,
              license: licenses.status(name, listener.port.listen.port),
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
        accepting: configured.every((listener) => listener.accepting),
        activeConnections,
        license: licenses.status(name),
        listens,
      };
    }),
  };
}
