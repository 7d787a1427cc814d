import { parseHostPort } from '../../shared/address.ts';
import type { Sidecar } from '../sidecar.ts';

/**
 * The ports a sidecar accounts for on its host, for the inventory's local estimate: each
 * port's listen ports (every address, configured and bound, so `:0` counts, and the transition
 * numbers it follows) and the admin
 * port. Read on every inventory round, so reloads count.
 *
 * Not the upstream ports: the service behind the sidecar should listen on loopback only
 * (loopback listeners are never flagged). One that listens beyond loopback can be reached
 * around the sidecar, without a license, so it is flagged like any stranger.
 */
export function sidecarOwnPorts(sidecar: Pick<Sidecar, 'config' | 'listenAddresses' | 'adminAddress'>): number[] {
  const ports = new Set<number>();
  for (const port of sidecar.config.ports) {
    for (const address of port.listens) ports.add(address.port);
  }
  for (const address of [...[...sidecar.listenAddresses.values()].flat(), sidecar.adminAddress]) {
    const bound = address === undefined ? undefined : parseHostPort(address);
    if (bound) ports.add(bound.port);
  }
  ports.add(sidecar.config.admin.listen.port);
  ports.delete(0);
  return [...ports];
}
