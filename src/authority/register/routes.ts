import { z } from 'zod';
import { name } from '../../shared/config/schema-parts.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { AuthorityContext } from '../context.ts';
import { principalOf, requireAdmin, requireReader, requireService } from '../http/access.ts';
import type { ApiRequest, Route } from '../http/router.ts';
import { listUnregistered } from '../inventory/service.ts';
import { defaultEnv, portKinds, portStates, protocols } from '../../register/port-record.ts';
import { parsePortRef, type PortRef } from './port-ref.ts';
import { registerOf } from './service.ts';
import { createSnapshot } from '../../register/snapshot.ts';
import { allowEntry, durationText } from '../http/schemas.ts';

const portNumber = z.number().int().min(1).max(65_535);
const dependency = z.string().regex(/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/, 'must be service/name');
const flag = z.enum(['1', 'true', '0', 'false']).transform((value) => value === '1' || value === 'true');

/** `POST /v1/ports`. */
export const portRequestSchema = z.strictObject({
  service: name,
  name,
  env: name.default(defaultEnv),
  protocol: z.enum(protocols).default('tcp'),
  kind: z.enum(portKinds).default('static'),
  number: portNumber.optional(),
  /** Defaults to the service. */
  owner: z.string().min(1).max(200).optional(),
  depends_on: z.array(dependency).max(100).default([]),
  reason: z.string().max(500).optional(),
  /** License the port for these callers once it is active. */
  license: z
    .strictObject({
      allow: z.array(allowEntry).min(1, 'must list at least one identity').max(1000),
      ttl: durationText.optional(),
      renew: z.enum(['auto', 'always', 'never']).optional(),
    })
    .optional(),
});

const listQuery = z.strictObject({
  service: name.optional(),
  env: name.optional(),
  state: z.enum(portStates).optional(),
  stale: flag.optional(),
  /** Instead of ports: the listeners sidecars reported that the register lacks (admin). */
  unregistered: flag.optional(),
});
const refQuery = z.strictObject({ env: name.optional(), protocol: z.enum(protocols).optional() });
const reasonBody = z.strictObject({ reason: z.string().max(500).optional() });
const transitionBody = z.strictObject({ to: portNumber, window: durationText.refine((ms) => ms >= 1000, 'must be at least 1s') });
const reclaimBody = z.strictObject({ dry_run: z.boolean().default(true) });

/**
 * The port register: list, request, show, approve, reject, release, transition (start,
 * cancel, complete), reclaim and export. Writes need an admin token; a sidecar token reads
 * its own service's ports. `{id}` is a port id or `service/name` (slash URL-encoded) with
 * `?env=` (default `default`) and, when both protocols are registered, `?protocol=`.
 */
export function portRoutes(ctx: AuthorityContext): Route[] {
  const register = registerOf(ctx);
  const refOf = (req: ApiRequest): PortRef => {
    const query = req.queryAs(refQuery);
    const ref = parsePortRef(req.params.id ?? '', query.env, query.protocol);
    if ('id' in ref && (query.env !== undefined || query.protocol !== undefined)) throw new PortwardenError('bad_request', 'env, protocol: only with a service/name reference');
    return ref;
  };
  const act = (path: string, run: (req: ApiRequest, ref: PortRef) => Promise<unknown>): Route => ({
    method: 'POST',
    path,
    access: 'admin',
    async handler(req) {
      return { body: await run(req, refOf(req)) };
    },
  });
  return [
    {
      method: 'GET',
      path: '/v1/ports',
      access: 'token',
      async handler(req) {
        const query = req.queryAs(listQuery);
        // a sidecar token lists its own service when it names none
        const service = query.service ?? (req.principal?.role === 'sidecar' ? (req.principal.service ?? undefined) : undefined);
        requireService(req.principal, service);
        if (query.unregistered) {
          requireReader(req.principal);
          if (query.env !== undefined || query.state !== undefined || query.stale) throw new PortwardenError('bad_request', 'unregistered: goes only with service');
          return { body: { unregistered: await listUnregistered(ctx.store, service) } };
        }
        return { body: { ports: await register.list({ ...query, service }) } };
      },
    },
    {
      method: 'POST',
      path: '/v1/ports',
      access: 'admin',
      async handler(req) {
        const body = await req.body(portRequestSchema);
        const port = await register.request(requireAdmin(req.principal), {
          service: body.service,
          name: body.name,
          env: body.env,
          protocol: body.protocol,
          kind: body.kind,
          number: body.number,
          owner: body.owner ?? body.service,
          dependsOn: body.depends_on,
          reason: body.reason,
          license: body.license && { allow: body.license.allow, ttlMs: body.license.ttl, renew: body.license.renew },
        });
        return { status: 201, body: port };
      },
    },
    {
      // before `/v1/ports/{id}`, which would otherwise take `export` as an id
      method: 'GET',
      path: '/v1/ports/export',
      access: 'token',
      async handler(req) {
        req.queryAs(z.strictObject({}));
        return { body: createSnapshot(register.policy, await register.list(), ctx.clock) };
      },
    },
    {
      method: 'POST',
      path: '/v1/ports/reclaim',
      access: 'admin',
      async handler(req) {
        const { dry_run } = await req.body(reclaimBody);
        return { body: await register.reclaim(requireAdmin(req.principal), dry_run) };
      },
    },
    {
      method: 'GET',
      path: '/v1/ports/{id}',
      access: 'token',
      async handler(req) {
        const ref = refOf(req);
        const principal = principalOf(req.principal);
        if (principal.role !== 'admin' && !('id' in ref)) requireService(principal, ref.service);
        const port = await register.get(ref);
        requireService(principal, port.service);
        return { body: port };
      },
    },
    act('/v1/ports/{id}/approve', async (req, ref) => register.approve(requireAdmin(req.principal), ref, (await req.body(reasonBody)).reason)),
    act('/v1/ports/{id}/reject', async (req, ref) => register.reject(requireAdmin(req.principal), ref, (await req.body(reasonBody)).reason)),
    act('/v1/ports/{id}/release', async (req, ref) => register.release(requireAdmin(req.principal), ref, (await req.body(reasonBody)).reason)),
    act('/v1/ports/{id}/transition', async (req, ref) => {
      const { to, window } = await req.body(transitionBody);
      return register.transition(requireAdmin(req.principal), ref, to, window);
    }),
    act('/v1/ports/{id}/transition/cancel', async (req, ref) => {
      await req.body(z.strictObject({}));
      return register.cancelTransition(requireAdmin(req.principal), ref);
    }),
    act('/v1/ports/{id}/transition/complete', async (req, ref) => {
      await req.body(z.strictObject({}));
      return register.completeTransition(requireAdmin(req.principal), ref);
    }),
  ];
}
