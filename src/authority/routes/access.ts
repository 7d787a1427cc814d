import { z } from 'zod';
import { name } from '../../shared/config/schema-parts.ts';
import type { AuthorityContext } from '../context.ts';
import { requireService } from '../http/access.ts';
import type { Route } from '../http/router.ts';
import { defaultCallers, maxCallers, portAccess } from '../last-access.ts';

/** `?limit=`: how many callers, most recent first. */
export const callerLimit = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a whole number')
  .transform(Number)
  .pipe(z.number().int().min(1).max(maxCallers))
  .default(defaultCallers);

const byNameQuery = z.strictObject({
  service: name,
  /** The port's name as the sidecar configures it (the register's `name`). */
  port: z.union([name, z.string().regex(/^\d{1,5}$/)]),
  limit: callerLimit,
});

/**
 * `GET /v1/access?service=S&port=NAME`: a port's access totals and its callers (identity,
 * origin address, counts, bytes, first and last access, last decision), most recent first.
 * An admin, or the sidecar token of the service.
 */
export function accessRoutes(ctx: AuthorityContext): Route[] {
  return [
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
