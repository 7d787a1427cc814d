import { PortwardenError } from '../../shared/errors.ts';
import type { Principal } from '../tokens/service.ts';

/** The caller of a non-public route. */
export function principalOf(principal: Principal | undefined): Principal {
  if (!principal) throw new PortwardenError('unauthenticated', 'a bearer token is required');
  return principal;
}

/** Refuses unless the caller is an admin. */
export function requireAdmin(principal: Principal | undefined): Principal {
  const p = principalOf(principal);
  if (p.role !== 'admin') throw new PortwardenError('forbidden', 'this needs an admin token');
  return p;
}

/** Refuses unless the caller is an admin or the sidecar token of `service`. */
export function requireService(principal: Principal | undefined, service: string | undefined): Principal {
  const p = principalOf(principal);
  if (p.role === 'admin') return p;
  if (service === undefined || p.service !== service) {
    throw new PortwardenError('forbidden', `this sidecar token is scoped to service ${p.service ?? '(none)'}`);
  }
  return p;
}
