import { z } from 'zod';
import { name } from '../../shared/config/schema-parts.ts';
import type { AuthorityContext } from '../context.ts';
import { validate } from '../http/body.ts';
import type { Route } from '../http/router.ts';
import { discover } from './discovery.ts';
import { defaultEnv, protocols } from '../../register/port-record.ts';

const discoverParams = z.strictObject({ service: name, name });
const discoverQuery = z.strictObject({ env: name.default(defaultEnv), protocol: z.enum(protocols).optional() });

/**
 * `GET /v1/discover/{service}/{name}?env=E`: where a port lives. Any valid token may ask
 * (callers of a service need its number, whatever service they are).
 */
export function discoverRoutes(ctx: AuthorityContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/discover/{service}/{name}',
      access: 'token',
      async handler(req) {
        const query = req.queryAs(discoverQuery);
        const params = validate(discoverParams, req.params, 'path');
        return { body: await discover(ctx.store, ctx.clock, { ...params, env: query.env, protocol: query.protocol }) };
      },
    },
  ];
}
