import { z } from 'zod';
import type { AuthorityContext } from '../context.ts';
import { requireAdmin } from '../http/access.ts';
import type { Route } from '../http/router.ts';
import { buildJwks } from './jwks.ts';
import { keyView, rotateKey } from './rotation.ts';

/** The public JWKS, and key listing and rotation for admins. */
export function keyRoutes(ctx: AuthorityContext): Route[] {
  const { store, clock, logger } = ctx;
  return [
    {
      method: 'GET',
      path: '/.well-known/jwks.json',
      access: 'public',
      async handler() {
        const keys = await store.read((tx) => tx.keys.list());
        // no caching: a fresh kid must be visible as soon as it signs
        return { headers: { 'cache-control': 'no-cache' }, body: buildJwks(keys, clock.now()) };
      },
    },
    {
      method: 'GET',
      path: '/v1/keys',
      access: 'admin',
      async handler() {
        const now = clock.now();
        const keys = await store.read((tx) => tx.keys.list());
        return { body: { keys: keys.map((key) => keyView(key, now)) } };
      },
    },
    {
      method: 'POST',
      path: '/v1/keys/rotate',
      access: 'admin',
      async handler(req) {
        await req.body(z.strictObject({}));
        const actor = requireAdmin(req.principal);
        const { active, retired } = await store.transaction((tx) => rotateKey(tx, clock, actor));
        logger.info({ kid: active.kid, retired: retired?.kid, actor: actor.id }, 'signing key rotated');
        return { body: keyView(active, clock.now()) };
      },
    },
  ];
}
