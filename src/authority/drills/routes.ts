import { z } from 'zod';
import { name } from '../../shared/config/schema-parts.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { AuthorityContext } from '../context.ts';
import { DrillService } from './service.ts';
import { principalOf, requireAdmin, requireReader, requireService } from '../http/access.ts';
import type { Route } from '../http/router.ts';
import { durationText, indexText } from '../http/schemas.ts';

/** `POST /v1/drills`. */
export const drillStartSchema = z.strictObject({
  kind: z.enum(['revoke', 'expire', 'outage']),
  service: name,
  /** The port name; required for `revoke` and `expire`. */
  port: name.nullish(),
  /** The window: `30s`, `5m`, ... */
  for: durationText,
});

const listQuery = z.strictObject({
  service: name.optional(),
  state: z.enum(['active', 'all']).default('all'),
  limit: indexText.pipe(z.number().min(1).max(1_000)).optional(),
});

/** The drill service the routes use, made from the authority's parts. */
export function drillServiceFor(ctx: AuthorityContext): DrillService {
  return new DrillService({ store: ctx.store, hub: ctx.hub, clock: ctx.clock, licenses: ctx.licenses, issuer: ctx.config.issuer, logger: ctx.logger });
}

/**
 * Drills: start (admin), list and show (admins, and a sidecar token for its own service),
 * stop early (admin). See `drills.ts` for what each kind changes and how it is put back.
 */
export function drillRoutes(ctx: AuthorityContext): Route[] {
  const drills = drillServiceFor(ctx);
  return [
    {
      method: 'POST',
      path: '/v1/drills',
      access: 'admin',
      async handler(req) {
        const body = await req.body(drillStartSchema);
        const view = await drills.start(requireAdmin(req.principal), { kind: body.kind, service: body.service, port: body.port ?? null, forMs: body.for });
        return { status: 201, body: view };
      },
    },
    {
      method: 'GET',
      path: '/v1/drills',
      access: 'token',
      async handler(req) {
        const query = req.queryAs(listQuery);
        const principal = principalOf(req.principal);
        const service = query.service ?? (principal.role === 'sidecar' ? (principal.service ?? undefined) : undefined);
        requireService(principal, service);
        const list = await drills.list({
          ...(service === undefined ? {} : { service }),
          ...(query.state === 'active' ? { state: 'active' as const } : {}),
          limit: query.limit ?? 100,
        });
        return { body: { drills: list } };
      },
    },
    {
      method: 'GET',
      path: '/v1/drills/{id}',
      access: 'token',
      async handler(req) {
        const id = req.params.id ?? '';
        const service = await drills.serviceOf(id);
        if (service === undefined) {
          requireReader(req.principal); // a sidecar learns nothing about other services' drills
          throw new PortwardenError('not_found', `no drill ${id}`);
        }
        requireService(req.principal, service);
        return { body: await drills.get(id) };
      },
    },
    {
      method: 'POST',
      path: '/v1/drills/{id}/stop',
      access: 'admin',
      async handler(req) {
        await req.body(z.strictObject({}));
        return { body: await drills.stop(requireAdmin(req.principal), req.params.id ?? '') };
      },
    },
  ];
}
