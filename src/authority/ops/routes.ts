import { PortwardenError } from '../../shared/errors.ts';
import type { AuthorityContext } from '../context.ts';
import type { Route } from '../http/router.ts';
import { observeLicenses } from '../licenses/renewer.ts';

/** `/healthz` (the process answers), `/readyz` (serving, not shutting down), `/metrics`. */
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
        ctx.metrics.changeIndex.set(await ctx.store.read((tx) => tx.index.current()));
        await observeLicenses(ctx.store, ctx.clock, ctx.metrics, ctx.config.licenses.renew_before);
        return { headers: { 'content-type': registry.contentType }, text: await registry.metrics() };
      },
    },
  ];
}
