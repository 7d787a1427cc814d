import { z } from 'zod';
import { name } from '../../shared/config/schema-parts.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { AuthorityContext } from '../context.ts';
import { principalOf, requireService } from '../http/access.ts';
import type { Route } from '../http/router.ts';
import { defaultCallers, maxCallers, portAccess } from './last-access.ts';
import { protocols } from '../../register/port-record.ts';
import { parsePortRef, resolvePort } from '../register/port-ref.ts';

/** `?limit=`: how many callers, most recent first. */
export const callerLimit = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a whole number')
  .transform(Number)
  .pipe(z.number().int().min(1).max(maxCallers))
  .default(defaultCallers);

const byRefQuery = z.strictObject({ env: name.optional(), protocol: z.enum(protocols).optional(), limit: callerLimit });

const byNameQuery = z.strictObject({
  service: name,
  /** The port's name as the sidecar configures it (the register's `name`). */
  port: z.union([name, z.string().regex(/^\d{1,5}$/)]),
  limit: callerLimit,
});

/**
 * A port's access totals and its callers (identity, origin address, counts, bytes, first and
 * last access, last decision), most recent first; for an admin or the service's sidecar token.
 * `GET /v1/ports/{id}/access` names the port as the register does (an id, or `service/name`
 * with `?env=` and `?protocol=`); `GET /v1/access?service=S&port=NAME` by the name sidecars
 * report, registered or not. Sidecars report no env, so every env of a service/name shares
 * one set of totals.
 */
export function accessRoutes(ctx: AuthorityContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/ports/{id}/access',
      access: 'token',
      async handler(req) {
        const query = req.queryAs(byRefQuery);
        const ref = parsePortRef(req.params.id ?? '', query.env, query.protocol);
        if ('id' in ref && (query.env !== undefined || query.protocol !== undefined)) throw new PortwardenError('bad_request', 'env, protocol: only with a service/name reference');
        const principal = principalOf(req.principal);
        // a sidecar learns nothing about other services' ports, not even whether they exist
        if (principal.role !== 'admin' && !('id' in ref)) requireService(principal, ref.service);
        const body = await ctx.store.read(async (tx) => {
          const port = await resolvePort(tx, ref);
          requireService(principal, port.service);
          return { id: port.id, env: port.env, ...(await portAccess(tx, port.service, port.name, query.limit)) };
        });
        return { body };
      },
    },
    {
      method: 'GET',
      path: '/v1/access',
      access: 'token',
      async handler(req) {
        const query = req.queryAs(byNameQuery);
        requireService(req.principal, query.service);
        return { body: await ctx.store.read((tx) => portAccess(tx, query.service, query.port, query.limit)) };
      },
    },
  ];
}
