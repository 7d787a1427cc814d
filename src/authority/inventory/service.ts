import { z } from 'zod';
import { isLoopbackHost } from '../../shared/address.ts';
import { unmapIPv4 } from '../../shared/cidr.ts';
import type { Clock } from '../../shared/clock.ts';
import { name } from '../../shared/config/schema-parts.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { Principal } from '../tokens/service.ts';
import type { InventoryListenerRow, InventoryRow } from '../store/inventory.ts';
import type { Store, StoreTx } from '../store/store.ts';

const portNumber = z.number().int().min(0).max(65_535);

/**
 * `POST /v1/inventory`: every listening socket of the sidecar's network namespace (a full
 * snapshot, loopback ones included) and the TCP ports the sidecar accounts for itself.
 */
export const inventoryReportSchema = z.looseObject({
  /** Only needed when an admin token posts; a sidecar token implies its service. */
  service: name.optional(),
  sent_at: z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)).optional(),
  listeners: z
    .array(z.strictObject({ protocol: z.enum(['tcp', 'udp']), address: z.string().min(1).max(64), port: portNumber }))
    .max(20_000),
  /** Its listen ports and its admin port (older sidecars also sent their upstream ports). */
  sidecar_ports: z.array(portNumber).max(10_000).default([]),
});

export type InventoryReportBody = z.output<typeof inventoryReportSchema>;

/** A listener that is neither registered nor fronted by the sidecar that reported it. */
export interface UnregisteredListener {
  service: string;
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
  /** When the snapshot that holds it arrived (ISO 8601). */
  reported_at: string;
}

/**
 * The listeners of a snapshot that nothing accounts for. Left out: loopback listeners (no
 * other workload can reach them, so there is nothing to license; the sidecar's local
 * estimate leaves them out too), port 0, TCP ports the reporting sidecar fronts or runs
 * (listen, admin; it proxies TCP only), and (protocol, number)s in `registered`.
 */
export function unregisteredListeners(row: Pick<InventoryRow, 'listeners' | 'sidecarPorts'>, registered: ReadonlySet<string>): InventoryListenerRow[] {
  const own = new Set(row.sidecarPorts);
  return row.listeners.filter(
    (l) => l.port !== 0 && !isLoopbackHost(unmapIPv4(l.address)) && !(l.protocol === 'tcp' && own.has(l.port)) && !registered.has(numberKey(l.protocol, l.port)),
  );
}

/** `tcp/8443`: how `registeredNumbers` names a (protocol, number). */
export function numberKey(protocol: string, port: number): string {
  return `${protocol}/${port}`;
}

/**
 * The (protocol, number)s a listener of `service` may hold: the numbers of every active or
 * transitioning port in the register (both numbers while transitioning), and the numbers of
 * the service's active licenses (a license is issued for a number, register or not).
 */
export async function registeredNumbers(tx: Pick<StoreTx, 'ports' | 'licenses'>, service: string, register?: ReadonlySet<string>): Promise<Set<string>> {
  const numbers = new Set(register ?? (await registerNumbers(tx)));
  for (const license of await tx.licenses.list({ service, state: 'active' })) numbers.add(numberKey(license.protocol, license.portNumber));
  return numbers;
}

/** The numbers held by active and transitioning ports of the register, whatever their service. */
async function registerNumbers(tx: Pick<StoreTx, 'ports'>): Promise<Set<string>> {
  const numbers = new Set<string>();
  // any service's: on a shared host (or node) network another service's registered port is no stranger
  for (const port of await tx.ports.list({ states: ['active', 'transitioning'] })) {
    if (port.number !== null) numbers.add(numberKey(port.protocol, port.number));
    if (port.transition !== null) numbers.add(numberKey(port.protocol, port.transition.to));
  }
  return numbers;
}

/**
 * Stores the reporting service's snapshot (replacing its previous one) and answers with its
 * unregistered listeners, judged against the register as it is now.
 */
export async function ingestInventory(store: Store, clock: Clock, principal: Principal, report: InventoryReportBody): Promise<{ service: string; unregistered: InventoryListenerRow[] }> {
  const service = principal.role === 'sidecar' ? principal.service : report.service;
  if (!service) throw new PortwardenError('bad_request', 'service: required when an admin token posts an inventory');
  if (report.service !== undefined && report.service !== service) {
    throw new PortwardenError('forbidden', `this token reports for service ${service}, not ${report.service}`);
  }
  const now = clock.now();
  const row: InventoryRow = { service, reportedAt: now, sentAt: report.sent_at ?? now, listeners: report.listeners, sidecarPorts: report.sidecar_ports };
  return store.transaction(async (tx) => {
    await tx.inventory.put(row);
    return { service, unregistered: unregisteredListeners(row, await registeredNumbers(tx, service)) };
  });
}

/** Every service's unregistered listeners (or one service's), from their latest snapshots. */
export async function listUnregistered(store: Store, service?: string): Promise<UnregisteredListener[]> {
  return store.read(async (tx) => {
    const rows = service === undefined ? await tx.inventory.list() : [await tx.inventory.get(service)].filter((row) => row !== undefined);
    const register = await registerNumbers(tx);
    const out: UnregisteredListener[] = [];
    for (const row of rows) {
      const reportedAt = new Date(row.reportedAt).toISOString();
      for (const l of unregisteredListeners(row, await registeredNumbers(tx, row.service, register))) out.push({ service: row.service, ...l, reported_at: reportedAt });
    }
    return out;
  });
}
