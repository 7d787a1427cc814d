import type { AuthorityContext } from '../context.ts';
import { principalOf } from '../http/access.ts';
import type { Route } from '../http/router.ts';
import { ingestTelemetry, telemetryBatchSchema } from './telemetry.ts';

/** `POST /v1/telemetry`: a sidecar reports access records for its own service. */
export function telemetryRoutes(ctx: AuthorityContext): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/telemetry',
      access: 'token',
      async handler(req) {
        const batch = await req.body(telemetryBatchSchema);
        return { body: await ingestTelemetry(ctx.store, ctx.clock, principalOf(req.principal), batch) };
      },
    },
  ];
}
