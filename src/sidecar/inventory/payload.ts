import { z } from 'zod';
import { isLoopbackHost } from '../../shared/address.ts';
import { unmapIPv4 } from '../../shared/cidr.ts';
import type { Listener } from './proc-net.ts';

/** Where the sidecar reports its host's listeners on the authority. */
export const inventoryPath = '/v1/inventory';

/** A listener as the authority sees it: no inode, which means nothing off this host. */
export const inventoryListenerSchema = z.object({
  protocol: z.enum(['tcp', 'udp']),
  address: z.string().min(1),
  port: z.number().int().min(0).max(65_535),
});
export type InventoryListener = z.infer<typeof inventoryListenerSchema>;

/**
 * The body of `POST /v1/inventory`, sent every `inventory.interval` with the sidecar's token:
 * every listening TCP socket and unconnected UDP socket in the sidecar's network namespace
 * (loopback ones included), each (protocol, address, port) once, sorted. It is a full
 * snapshot each time, so the authority may replace the service's previous one.
 */
export const inventoryReportSchema = z.object({
  service: z.string().min(1),
  sent_at: z.iso.datetime(),
  listeners: z.array(inventoryListenerSchema),
  /**
   * The TCP ports this sidecar accounts for (its listen ports and its admin port), so the
   * authority leaves them out of its answer as `locallyUnfronted` does here.
   */
  sidecar_ports: z.array(z.number().int().min(1).max(65_535)),
});
export type InventoryReport = z.infer<typeof inventoryReportSchema>;

/**
 * The authority's 2xx answer: the reported listeners that are neither in the port register
 * nor fronted by this sidecar (`sidecar_ports`), loopback ones left out. Anything else (404
 * from an authority without the endpoint, another shape) leaves the sidecar on its local estimate.
 */
export const inventoryAnswerSchema = z.object({ unregistered: z.array(inventoryListenerSchema) });

/** Builds the report: inodes dropped, duplicates (SO_REUSEPORT groups) merged, sorted. */
export function toInventoryReport(service: string, listeners: readonly Listener[], now: number, ownPorts: Iterable<number> = []): InventoryReport {
  const unique = new Map<string, InventoryListener>();
  for (const { protocol, address, port } of listeners) unique.set(`${protocol} ${address} ${port}`, { protocol, address, port });
  // code-unit order, not locale order, so the same sockets always give the same body
  const sorted = [...unique.values()].sort((a, b) => compare(a.protocol, b.protocol) || a.port - b.port || compare(a.address, b.address));
  const sidecarPorts = [...new Set(ownPorts)].filter((port) => port > 0).sort((a, b) => a - b);
  return { service, sent_at: new Date(now).toISOString(), listeners: sorted, sidecar_ports: sidecarPorts };
}

/**
 * The local estimate used until the authority answers: listeners reachable from off the host
 * (not bound to loopback) that this sidecar does not front — any UDP socket (the sidecar
 * proxies TCP only) and any TCP port that is not one of the sidecar's own listen or admin
 * ports (an upstream reachable beyond loopback is a way around the sidecar). It cannot see the register, so a port registered to something else counts here.
 */
export function locallyUnfronted(listeners: readonly InventoryListener[], ownPorts: ReadonlySet<number>): InventoryListener[] {
  return listeners.filter(
    (listener) => !isLoopbackHost(unmapIPv4(listener.address)) && (listener.protocol === 'udp' || !ownPorts.has(listener.port)),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
