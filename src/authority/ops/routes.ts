import { PortwardenError } from '../../shared/errors.ts';
import type { AuthorityContext } from '../context.ts';
import type { Route } from '../http/router.ts';
import { observeLicenses } from '../licenses/renewer.ts';

/**
 * `/healthz` (the process answers), `/readyz` (serving, not shutting down, and the store takes
 * writes), `/metrics` (served from the last values when the store cannot be read).
 */
export function opsRoutes(ctx: AuthorityContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      access: 'public',
      async handler() {
        return { body: { status: 'ok' } };
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      access: 'public',
      async handler() {
        if (!ctx.ready) throw new PortwardenError('unavailable', 'the authority is starting or shutting down');
        const store = await ctx.storeReadiness.check();
        if (!store.ok) throw new PortwardenError('unavailable', `the store does not take writes: ${store.problem}`);
        return { body: { status: 'ready' } };
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      access: 'public',
      async handler() {
        const { registry } = ctx.metrics;
        ctx.metrics.watchers.set(ctx.hub.size);
        // a scrape during a store outage still answers, with the store's gauges as last seen
        if ((await ctx.storeReadiness.check()).ok) {
          try {
            ctx.metrics.changeIndex.set(await ctx.store.read((tx) => tx.index.current()));
            await observeLicenses(ctx.store, ctx.clock, ctx.metrics, ctx.config.licenses.renew_before);
          } catch (err) {
            ctx.logger.debug({ err }, 'store gauges not refreshed for this scrape');
          }
        }
        return { headers: { 'content-type': registry.contentType }, text: await registry.metrics() };
      },
    },
  ];
}
