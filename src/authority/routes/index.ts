import type { AuthorityContext } from '../context.ts';
import type { Route } from '../http/router.ts';
import { accessRoutes } from './access.ts';
import { auditRoutes } from './audit.ts';
import { checkRoutes } from './check.ts';
import { discoverRoutes } from './discover.ts';
import { drillRoutes } from './drills.ts';
import { inventoryRoutes } from './inventory.ts';
import { keyRoutes } from './keys.ts';
import { licenseRoutes } from './licenses.ts';
import { opsRoutes } from './ops.ts';
import { portRoutes } from './ports.ts';
import { telemetryRoutes } from './telemetry.ts';
import { tokenRoutes } from './tokens.ts';

/**
 * Every route factory of the API. A new resource exports `(ctx) => Route[]` from
 * `routes/<resource>.ts` and is listed here.
 */
export const routeFactories: readonly ((ctx: AuthorityContext) => Route[])[] = [
  opsRoutes,
  keyRoutes,
  licenseRoutes,
  tokenRoutes,
  telemetryRoutes,
  accessRoutes,
  inventoryRoutes,
  auditRoutes,
  portRoutes,
  checkRoutes,
  discoverRoutes,
  drillRoutes,
];
