import { z } from 'zod';
import { name } from '../../shared/config/schema-parts.ts';
import { checkDefinitions } from '../../register/conflicts/check.ts';
import type { DefinitionField, InputKind, PortDefinition } from '../../register/conflicts/definition.ts';
import type { AuthorityContext } from '../context.ts';
import type { Route } from '../http/router.ts';
import { defaultEnv, protocols } from '../../register/port-record.ts';
import { registerOf } from './service.ts';

/** What each field of a definition means for the rules (see `PortDefinition`). */
const fields = {
  listen: { kind: 'sidecar', registered: true, hostBound: true },
  containerPort: { kind: 'kubernetes', registered: true, hostBound: false },
  hostPort: { kind: 'kubernetes', registered: true, hostBound: true },
  port: { kind: 'kubernetes', registered: true, hostBound: false },
  targetPort: { kind: 'kubernetes', registered: false, hostBound: false },
  nodePort: { kind: 'kubernetes', registered: false, hostBound: false },
  published: { kind: 'compose', registered: true, hostBound: true },
  target: { kind: 'compose', registered: true, hostBound: false },
  expose: { kind: 'compose', registered: true, hostBound: false },
} as const satisfies Record<DefinitionField, { kind: InputKind; registered: boolean; hostBound: boolean }>;

/** `POST /v1/check`: port definitions, as `portwarden check` finds them in files. */
export const checkRequestSchema = z.strictObject({
  env: name.default(defaultEnv),
  ports: z
    .array(
      z.strictObject({
        service: name,
        name: name.optional(),
        number: z.number().int().min(1).max(65_535),
        protocol: z.enum(protocols).default('tcp'),
        /** Where the number is used; decides which rules apply (`listen`: a sidecar's listen port). */
        field: z.enum(Object.keys(fields) as [DefinitionField, ...DefinitionField[]]).default('listen'),
        host_ip: z.string().max(64).optional(),
        /** Where the definition came from (a file); findings name it. */
        source: z.string().min(1).max(500).optional(),
        line: z.number().int().min(0).optional(),
      }),
    )
    .max(10_000),
});

/**
 * `POST /v1/check`: the rules of `portwarden check` over a list of definitions, against the
 * register as it is now. Findings are data: the answer is 200 with an empty or non-empty list.
 */
export function checkRoutes(ctx: AuthorityContext): Route[] {
  const register = registerOf(ctx);
  return [
    {
      method: 'POST',
      path: '/v1/check',
      access: 'token',
      async handler(req) {
        const body = await req.body(checkRequestSchema);
        const definitions = body.ports.map((port, index): PortDefinition => {
          const file = port.source ?? 'request';
          const meaning = fields[port.field];
          return {
            file,
            line: port.line ?? index + 1,
            kind: meaning.kind,
            field: port.field,
            service: port.service,
            name: port.name,
            number: port.number,
            protocol: port.protocol,
            registered: meaning.registered,
            hostBound: meaning.hostBound,
            // host-bound numbers from one source bind one host: the same number twice collides
            space: meaning.hostBound ? `host:${file}` : '',
            spaceLabel: `the same host (${file})`,
            hostIp: port.host_ip,
          };
        });
        const ports = await register.list();
        const findings = checkDefinitions(definitions, { env: body.env, policy: register.policy, register: { file: 'authority', ports }, now: ctx.clock.now() }, [...new Set(definitions.map((def) => def.file))]);
        return { body: { env: body.env, ports: definitions.length, findings } };
      },
    },
  ];
}
