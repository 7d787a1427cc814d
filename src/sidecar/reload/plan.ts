import { isDeepStrictEqual } from 'node:util';
import type { HostPort } from '../../shared/address.ts';
import { ConfigError } from '../../shared/config/config-error.ts';
import type { PortConfig, SidecarConfig } from '../../shared/config/sidecar-schema.ts';

/** What a reload does to each port, by name. */
export interface ReloadPlan {
  added: PortConfig[];
  /** Names of ports that are no longer configured. */
  removed: string[];
  /** Ports whose settings changed: they restart. */
  changed: PortConfig[];
  /**
   * Ports whose listen addresses changed and nothing else: addresses they keep are left alone
   * (with their connections), new ones start, dropped ones stop accepting and drain.
   */
  readdressed: PortConfig[];
  unchanged: PortConfig[];
  adminChanged: boolean;
}

// settings the running sidecar cannot change in place: its licenses belong to them
const restartOnly = ['service', 'authority'] as const;

/**
 * Compares the running configuration with a new one. Refuses (ConfigError naming the key)
 * a change of `service` or `authority`, which needs a restart.
 */
export function planReload(current: SidecarConfig, next: SidecarConfig): ReloadPlan {
  const issues = restartOnly
    .filter((key) => !isDeepStrictEqual(current[key], next[key]))
    .map((key) => ({ file: 'reload', line: 0, key, message: 'cannot change while running; restart the sidecar to apply it' }));
  if (issues.length > 0) throw new ConfigError('config_invalid', issues);

  const before = new Map(current.ports.map((port) => [port.name, port]));
  const after = new Set(next.ports.map((port) => port.name));
  const plan: ReloadPlan = {
    added: [],
    removed: current.ports.filter((port) => !after.has(port.name)).map((port) => port.name),
    changed: [],
    readdressed: [],
    unchanged: [],
    adminChanged: !isDeepStrictEqual(current.admin, next.admin),
  };
  for (const port of next.ports) {
    const old = before.get(port.name);
    if (old === undefined) plan.added.push(port);
    else if (isDeepStrictEqual(old, port)) plan.unchanged.push(port);
    else if (isDeepStrictEqual(withoutAddresses(old), withoutAddresses(port))) plan.readdressed.push(port);
    else plan.changed.push(port);
  }
  return plan;
}

function withoutAddresses(port: PortConfig): Omit<PortConfig, 'listen' | 'listens'> & { listen: null; listens: null } {
  return { ...port, listen: null, listens: null };
}

/**
 * Pairs a readdressed port's listeners with its new address list by configured address:
 * `keep[i]` is the listener already on `addresses[i]` (undefined: a new address to bind),
 * `drop` the listeners whose address is no longer listed. An address listed twice (port 0)
 * pairs with two listeners.
 */
export function matchAddresses<L extends { port: { listen: HostPort } }>(listeners: readonly L[], addresses: readonly HostPort[]): { keep: (L | undefined)[]; drop: L[] } {
  const unmatched = [...listeners];
  const keep = addresses.map((address) => {
    const index = unmatched.findIndex((listener) => listener.port.listen.host === address.host && listener.port.listen.port === address.port);
    return index < 0 ? undefined : unmatched.splice(index, 1)[0];
  });
  return { keep, drop: unmatched };
}
