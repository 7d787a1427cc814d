import { PortwardenError } from '../../shared/errors.ts';
import type { Principal } from '../tokens/service.ts';
import type { Access, Method } from './router.ts';

/**
 * Who may call what, by token role:
 * - `admin`: everything;
 * - `viewer`: every GET an admin may make (reads of every service), and nothing else;
 * - `sidecar`: its own service's reads and reports (the handlers check the scope with
 *   `requireService`), plus the reads every pipeline needs (discovery, check, export).
 */

/** Refuses a caller whose role may not use a route of `access` with `method` at all. */
export function requireRouteAccess(access: Exclude<Access, 'public'>, principal: Principal, method: Method): void {
  if (principal.role === 'viewer' && method !== 'GET') throw new PortwardenError('forbidden', 'a viewer token only reads; this needs an admin token');
  if (access === 'admin' && principal.role === 'sidecar') throw new PortwardenError('forbidden', 'this needs an admin token');
}

/** The caller of a non-public route. */
export function principalOf(principal: Principal | undefined): Principal {
  if (!principal) throw new PortwardenError('unauthenticated', 'a bearer token is required');
  return principal;
}

/** Refuses unless the caller is an admin (every change goes through this). */
export function requireAdmin(principal: Principal | undefined): Principal {
  const p = principalOf(principal);
  if (p.role !== 'admin') throw new PortwardenError('forbidden', 'this needs an admin token');
  return p;
}

/** Refuses unless the caller reads every service: an admin or a viewer. */
export function requireReader(principal: Principal | undefined): Principal {
  const p = principalOf(principal);
  if (p.role === 'sidecar') throw new PortwardenError('forbidden', 'this needs an admin or viewer token');
  return p;
}

/**
 * Refuses unless the caller is an admin, a viewer (who only ever gets this far on a GET, see
 * `requireRouteAccess`), or the sidecar token of `service`.
 */
export function requireService(principal: Principal | undefined, service: string | undefined): Principal {
  const p = principalOf(principal);
  if (p.role === 'admin' || p.role === 'viewer') return p;
  if (service === undefined || p.service !== service) {
    throw new PortwardenError('forbidden', `this sidecar token is scoped to service ${p.service ?? '(none)'}`);
  }
  return p;
}
