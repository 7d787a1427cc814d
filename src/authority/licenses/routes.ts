import { z } from 'zod';
import { name } from '../../shared/config/schema-parts.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { SingleFlight } from '../../shared/single-flight.ts';
import type { AuthorityContext } from '../context.ts';
import { blockingWaitMs, whileHeld } from '../changes/blocking-query.ts';
import { refuseDuringOutage } from '../drills/service.ts';
import { requireAdmin, requireReader, requireService } from '../http/access.ts';
import type { ApiResponse, Route } from '../http/router.ts';
import { licenseAccess } from '../access/last-access.ts';
import { allowEntry, durationText, indexText } from '../http/schemas.ts';

/** `POST /v1/licenses`. */
export const issueSchema = z.strictObject({
  service: name,
  port_name: name,
  port: z.strictObject({
    number: z.number().int().min(1).max(65_535),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
  }),
  allow: z.array(allowEntry).min(1, 'must list at least one identity').max(1000),
  ttl: durationText.optional(),
  env: name.nullish(),
  renew: z.enum(['auto', 'always', 'never']).default('auto'),
});

const listQuery = z.strictObject({
  service: name.optional(),
  index: indexText.optional(),
  wait: durationText.optional(),
  state: z.enum(['active', 'all']).default('active'),
});

const revokeSchema = z.strictObject({ reason: z.string().max(500).optional() });

/** The JSON of each snapshot answered, while the snapshot lives. */
const serialized = new WeakMap<object, string>();

/** Licenses: the blocking list, issue, show, renew, revoke. */
export function licenseRoutes(ctx: AuthorityContext): Route[] {
  const { licenses } = ctx;
  // after a change every sidecar of a service asks again at once: one drill check in flight per
  // service, and none joined across a change (a drill's start announces one, as any change does)
  const outageChecks = new SingleFlight<string, void>();
  return [
    {
      method: 'GET',
      path: '/v1/licenses',
      access: 'token',
      async handler(req): Promise<ApiResponse> {
        const query = req.queryAs(listQuery);
        // a sidecar token lists its own service when it names none
        const service = query.service ?? (req.principal?.role === 'sidecar' ? (req.principal.service ?? undefined) : undefined);
        requireService(req.principal, service);
        // an outage drill of this service: its sidecars' sync is refused for the window
        if (service !== undefined) await outageChecks.run(`${ctx.hub.generation}\n${service}`, () => refuseDuringOutage(ctx.store, ctx.clock, service));
        if (query.state === 'all') {
          const all = await licenses.all(service);
          return { headers: { 'x-portwarden-index': String(all.index) }, body: all };
        }
        const waitMs = blockingWaitMs(query);
        const snapshot = await whileHeld(ctx.watchSlots, req.principal?.id ?? '', waitMs, () => licenses.watch(service, query.index ?? 0, waitMs, req.signal));
        // the waiters a change wakes share one snapshot object: serialize it once for all of them
        let json = serialized.get(snapshot);
        if (json === undefined) serialized.set(snapshot, (json = `${JSON.stringify(snapshot)}\n`));
        return { headers: { 'x-portwarden-index': String(snapshot.index), 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, text: json };
      },
    },
    {
      method: 'POST',
      path: '/v1/licenses',
      access: 'admin',
      async handler(req) {
        const body = await req.body(issueSchema);
        const view = await licenses.issue(requireAdmin(req.principal), {
          service: body.service,
          portName: body.port_name,
          port: body.port,
          allow: body.allow,
          ttlMs: body.ttl,
          env: body.env ?? null,
          renew: body.renew,
        });
        return { status: 201, headers: { 'x-portwarden-index': String(view.modify_index) }, body: view };
      },
    },
    {
      method: 'GET',
      path: '/v1/licenses/{lid}',
      access: 'token',
      async handler(req) {
        const lid = req.params.lid ?? '';
        const row = await licenses.find(lid);
        if (!row) {
          requireReader(req.principal); // a sidecar learns nothing about other services' lids
          throw new PortwardenError('not_found', `no license ${lid}`);
        }
        requireService(req.principal, row.service);
        const view = await licenses.get(lid);
        // who used the port: last access per (identity, origin address) since the license was issued
        const access = await ctx.store.read((tx) => licenseAccess(tx, row));
        return { headers: { 'x-portwarden-index': String(view.modify_index) }, body: { ...view, access } };
      },
    },
    {
      method: 'POST',
      path: '/v1/licenses/{lid}/renew',
      access: 'admin',
      async handler(req) {
        await req.body(z.strictObject({}));
        const view = await licenses.renew(requireAdmin(req.principal), req.params.lid ?? '');
        return { headers: { 'x-portwarden-index': String(view.modify_index) }, body: view };
      },
    },
    {
      method: 'POST',
      path: '/v1/licenses/{lid}/revoke',
      access: 'admin',
      async handler(req) {
        const { reason } = await req.body(revokeSchema);
        const view = await licenses.revoke(requireAdmin(req.principal), req.params.lid ?? '', reason);
        return { headers: { 'x-portwarden-index': String(view.modify_index) }, body: view };
      },
    },
  ];
}
