import { formatHostPort } from '../../shared/address.ts';
import type { Clock } from '../../shared/clock.ts';
import type { SidecarConfig } from '../../shared/config/sidecar-schema.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';
import { identityInputsChanged, type PortIdentityFactory } from '../identity/resolver-factory.ts';
import type { PortListener } from '../proxy/listener.ts';
import { boundAddress, type ListenerSet } from '../proxy/listener-set.ts';
import { matchAddresses, type ReloadPlan } from './plan.ts';

export interface ApplyContext {
  listeners: ListenerSet;
  createIdentity: PortIdentityFactory;
  logger: Logger;
  metrics: SidecarMetrics;
  clock: Clock;
}

/** What a reload did, for its log line. */
export interface AppliedReload {
  added: string[];
  removed: string[];
  changed: string[];
  readdressed: string[];
  /** Followed transition numbers the new file lists, taken over with their connections. */
  adopted: string[];
  /** Listeners bound by this reload. */
  fresh: PortListener[];
}

/**
 * Applies a planned reload to the listeners: added ports start, removed ones stop accepting
 * and drain, changed ones restart (their open connections drain on the old settings),
 * untouched ones and their connections are left alone. A port whose listen addresses alone
 * changed keeps the addresses it still lists, starts the new ones and drains the dropped ones;
 * a followed number the file now lists is adopted as it is. When an address cannot bind,
 * everything bound so far closes, the stopped listeners accept again on the old settings, and
 * it throws: the reload changes nothing.
 */
export async function applyReload(ctx: ApplyContext, plan: ReloadPlan, previous: SidecarConfig, next: SidecarConfig): Promise<AppliedReload> {
  const { listeners: set } = ctx;
  // each port's listener list after the reload, for ports that get new listeners
  const lists = new Map<string, PortListener[]>();
  const fresh: PortListener[] = [];
  const stopped: PortListener[] = [];
  const kept: PortListener[] = [];
  const adopted: PortListener[] = [];
  const stop = (old: PortListener) => {
    old.stopAccepting();
    stopped.push(old);
  };
  try {
    for (const port of plan.added) {
      const listeners = await set.openPort(port, next);
      fresh.push(...listeners);
      lists.set(port.name, listeners);
    }
    for (const port of plan.changed) {
      // the new listeners may need the old ones' addresses: stop accepting there first
      set.follower.stopPort(port.name);
      for (const old of set.of(port.name)) stop(old);
      const listeners = await set.openPort(port, next);
      fresh.push(...listeners);
      lists.set(port.name, listeners);
    }
    for (const port of plan.readdressed) {
      const { keep, drop } = matchAddresses(set.of(port.name), port.listens);
      for (const [index, address] of port.listens.entries()) {
        const followed = keep[index] === undefined ? set.follower.find(port.name, address) : undefined;
        if (followed !== undefined && !keep.includes(followed)) {
          keep[index] = followed;
          adopted.push(followed);
        }
      }
      for (const old of drop) stop(old);
      const listeners: PortListener[] = [];
      for (const [index, address] of port.listens.entries()) {
        let listener = keep[index];
        if (listener === undefined) fresh.push((listener = await set.openListener(port, address, next)));
        else kept.push(listener);
        listeners.push(listener);
      }
      lists.set(port.name, listeners);
    }
  } catch (err) {
    await Promise.all(fresh.map((listener) => listener.close()));
    await restoreAccepting(ctx, stopped, previous);
    throw err;
  }
  for (const name of plan.removed) {
    set.follower.stopPort(name);
    for (const old of set.of(name)) stop(old);
    set.delete(name);
  }
  for (const listener of adopted) set.follower.forget(listener);
  for (const old of stopped) set.drain(old);
  for (const [name, listeners] of lists) set.set(name, listeners);
  // identities read the top-level `identities` table and TLS files: refresh the untouched listeners'
  const untouched = [...plan.unchanged.flatMap((port) => set.of(port.name)), ...kept, ...set.follower.listeners()];
  for (const listener of untouched) {
    if (identityInputsChanged(listener.port, previous, next)) {
      await listener.setIdentity(await ctx.createIdentity(listener.port, { config: next, logger: ctx.logger, metrics: ctx.metrics, clock: ctx.clock }));
    } else {
      await listener.reloadIdentity();
    }
  }
  set.follower.forgetFailures();
  return {
    added: plan.added.map((port) => port.name),
    removed: [...plan.removed],
    changed: plan.changed.map((port) => port.name),
    readdressed: plan.readdressed.map((port) => port.name),
    adopted: adopted.map(boundAddress),
    fresh,
  };
}

/** A listener stopped for a replacement that could not bind gets a fresh one on its old settings, in its place. */
async function restoreAccepting(ctx: ApplyContext, stopped: PortListener[], config: SidecarConfig): Promise<void> {
  const { listeners: set } = ctx;
  for (const old of stopped) {
    const port = config.ports.find((candidate) => candidate.name === old.name);
    try {
      if (port === undefined) throw new Error(`port "${old.name}" is not in the old configuration`);
      const again = await set.openListener(port, old.port.listen, config);
      set.drain(old);
      const listeners = set.of(old.name);
      const index = listeners.indexOf(old);
      if (index >= 0) listeners[index] = again;
    } catch (err) {
      ctx.logger.error({ err, port: old.name, listen: formatHostPort(old.port.listen) }, 'cannot listen again on the old settings');
    }
  }
}
