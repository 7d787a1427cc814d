import { isDeepStrictEqual } from 'node:util';
import { ConfigError } from '../shared/config/load.ts';
import type { PortConfig, SidecarConfig } from '../shared/config/sidecar-schema.ts';

/** What a reload does to each port, by name. */
export interface ReloadPlan {
  added: PortConfig[];
  /** Names of ports that are no longer configured. */
  removed: string[];
  /** Ports whose settings changed: they restart. */
  changed: PortConfig[];
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
    unchanged: [],
    adminChanged: !isDeepStrictEqual(current.admin, next.admin),
  };
  for (const port of next.ports) {
    const old = before.get(port.name);
    if (old === undefined) plan.added.push(port);
    else if (isDeepStrictEqual(old, port)) plan.unchanged.push(port);
    else plan.changed.push(port);
  }
  return plan;
}
