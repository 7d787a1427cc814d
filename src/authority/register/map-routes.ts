import { z } from 'zod';
import { name } from '../../shared/config/schema-parts.ts';
import { formatDuration } from '../../shared/duration.ts';
import { numberMap } from '../../register/number-map.ts';
import type { AuthorityContext } from '../context.ts';
import type { Route } from '../http/router.ts';
import { registerOf } from './service.ts';

const numbersQuery = z.strictObject({ env: name.optional() });

/**
 * What the register's map is drawn from, for any valid token (the same facts as the export):
 * `GET /v1/ports/policy`, the register policy the authority runs with, and
 * `GET /v1/ports/numbers[?env=E]`, every number held or cooling down, with its state and port.
 * Listed before the port routes, whose `/v1/ports/{id}` would take `policy` for an id.
 */
export function registerMapRoutes(ctx: AuthorityContext): Route[] {
  const register = registerOf(ctx);
  const { config } = ctx;
  return [
    {
      method: 'GET',
      path: '/v1/ports/policy',
      access: 'token',
      async handler(req) {
        req.queryAs(z.strictObject({}));
        const { approval, reserved, ranges, stale_after, reuse_cooldown } = config.register;
        return {
          body: {
            approval,
            reserved: reserved.map(({ from, to }) => ({ from, to })),
            ranges: ranges.map((range) => ({ name: range.name, from: range.from, to: range.to, services: range.services ?? null, envs: range.envs ?? null })),
            stale_after: formatDuration(stale_after),
            reuse_cooldown: formatDuration(reuse_cooldown),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/ports/numbers',
      access: 'token',
      async handler(req) {
        const { env } = req.queryAs(numbersQuery);
        const now = ctx.clock.now();
        const records = await register.list(env === undefined ? {} : { env });
        return { body: { at: new Date(now).toISOString(), numbers: numberMap(records, register.policy.reuseCooldownMs, now) } };
      },
    },
  ];
}
