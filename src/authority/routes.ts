import type { AuthorityContext } from './context.ts';
import type { Route } from './http/router.ts';
import { accessRoutes } from './access/routes.ts';
import { admissionRoutes } from './admission/routes.ts';
import { auditRoutes } from './audit/routes.ts';
import { changeRoutes } from './changes/routes.ts';
import { consoleRoutes } from './console/routes.ts';
import { checkRoutes } from './register/check-routes.ts';
import { discoverRoutes } from './register/discovery-routes.ts';
import { drillRoutes } from './drills/routes.ts';
import { inventoryRoutes } from './inventory/routes.ts';
import { keyRoutes } from './keys/routes.ts';
import { licenseRoutes } from './licenses/routes.ts';
import { opsRoutes } from './ops/routes.ts';
import { portRoutes } from './register/routes.ts';
import { registerMapRoutes } from './register/map-routes.ts';
import { telemetryRoutes } from './access/telemetry-routes.ts';
import { tokenRoutes } from './tokens/routes.ts';

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
  registerMapRoutes, // before portRoutes: `/v1/ports/policy` is not a port id
  portRoutes,
  checkRoutes,
  discoverRoutes,
  drillRoutes,
  admissionRoutes,
  changeRoutes,
  consoleRoutes,
];
