import { z } from 'zod';
import { name } from '../../shared/config/schema-parts.ts';
import type { AuthorityContext } from '../context.ts';
import { principalOf, requireAdmin } from '../http/access.ts';
import type { Route } from '../http/router.ts';
import { tokenRoles } from '../store/tokens.ts';

export const createTokenSchema = z.strictObject({
  role: z.enum(tokenRoles),
  service: name.optional(),
  name: z.string().min(1).max(100).optional(),
});

/**
 * API tokens: create (answers the bare token once), list, revoke, for admins (a viewer lists);
 * and `GET /v1/whoami`, which tells any valid token who it is (the console signs in with it).
 */
export function tokenRoutes(ctx: AuthorityContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/whoami',
      access: 'token',
      async handler(req) {
        req.queryAs(z.strictObject({}));
        const { id, name, role, service } = principalOf(req.principal);
        return { body: { id, name, role, service } };
      },
    },
    {
      method: 'POST',
      path: '/v1/tokens',
      access: 'admin',
      async handler(req) {
        const body = await req.body(createTokenSchema);
        const { token, view } = await ctx.tokens.create(requireAdmin(req.principal), body);
        return { status: 201, body: { ...view, token } };
      },
    },
    {
      method: 'GET',
      path: '/v1/tokens',
      access: 'admin',
      async handler() {
        return { body: { tokens: await ctx.tokens.list() } };
      },
    },
    {
      method: 'POST',
      path: '/v1/tokens/{id}/revoke',
      access: 'admin',
      async handler(req) {
        await req.body(z.strictObject({}));
        return { body: await ctx.tokens.revoke(requireAdmin(req.principal), req.params.id ?? '') };
      },
    },
  ];
}
