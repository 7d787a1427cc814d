import { z } from 'zod';
import { name } from '../../shared/config/schema-parts.ts';
import type { AuthorityContext } from '../context.ts';
import { principalOf, requireReader } from '../http/access.ts';
import type { Route } from '../http/router.ts';
import { ingestInventory, inventoryReportSchema, listUnregistered } from './service.ts';

const unregisteredQuery = z.strictObject({ service: name.optional() });

/**
 * `POST /v1/inventory`: a sidecar reports its host's listening sockets and hears back which
 * are unregistered. `GET /v1/inventory/unregistered[?service=S]`: those of every service, for admins.
 */
export function inventoryRoutes(ctx: AuthorityContext): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/inventory',
      access: 'token',
      async handler(req) {
        const report = await req.body(inventoryReportSchema);
        return { body: await ingestInventory(ctx.store, ctx.clock, principalOf(req.principal), report) };
      },
    },
    {
      method: 'GET',
      path: '/v1/inventory/unregistered',
      access: 'admin',
      async handler(req) {
        requireReader(req.principal);
        const { service } = req.queryAs(unregisteredQuery);
        return { body: { unregistered: await listUnregistered(ctx.store, service) } };
      },
    },
  ];
}
