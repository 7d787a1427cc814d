import type { LicenseRow } from '../store/licenses.ts';
import type { PortAccessRow } from '../store/access.ts';
import type { PortRow } from '../store/ports.ts';
import type { StoreTx } from '../store/store.ts';
import { belongsTo } from './port-licenses.ts';

/** What the register knows of who used its ports: licenses (with their last access) and the sidecars' access totals. */
export interface PortUsage {
  licensesByService: Map<string, LicenseRow[]>;
  /** Access totals by `service\0port`, where port is the name (or number) sidecars report. */
  access: Map<string, PortAccessRow>;
}

const key = (service: string, port: string) => `${service}\u0000${port}`;

/** Reads the usage of one service's ports, or of every service's. */
export async function readUsage(tx: StoreTx, service?: string): Promise<PortUsage> {
  const licenses = await tx.licenses.list(service === undefined ? {} : { service });
  const licensesByService = new Map<string, LicenseRow[]>();
  for (const license of licenses) licensesByService.set(license.service, [...(licensesByService.get(license.service) ?? []), license]);
  const access = new Map<string, PortAccessRow>();
  for (const row of await tx.access.ports(service)) access.set(key(row.service, row.port), row);
  return { licensesByService, access };
}

/**
 * When a caller was last admitted to the port: the latest of the `last_access_at` of its
 * licenses (any state: revoked and expired ones are history too) and the last admitted
 * connection the sidecars reported for its name or number. Refused connections do not count:
 * a port nobody may use is not in use. Sidecars report no environment, so the access totals
 * of a service/name are shared by its environments (a port is then kept rather than reclaimed).
 */
export function lastUsedAt(row: PortRow, usage: PortUsage): number | null {
  let latest: number | null = null;
  const consider = (at: number | null | undefined) => {
    if (at !== null && at !== undefined && (latest === null || at > latest)) latest = at;
  };
  for (const license of usage.licensesByService.get(row.service) ?? []) if (belongsTo(license, row)) consider(license.lastAccessAt);
  consider(usage.access.get(key(row.service, row.name))?.lastAllowedAt);
  if (row.number !== null) consider(usage.access.get(key(row.service, String(row.number)))?.lastAllowedAt);
  return latest;
}
