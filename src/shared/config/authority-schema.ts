import type { Frozen } from './frozen.ts';
import { z } from 'zod';
import { duration, filePath, hostPortWithDefault, logLevel, name } from './schema-parts.ts';

export const portRange = z.string().transform((text, ctx) => {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const from = Number(match?.[1]);
  const to = Number(match?.[2] ?? match?.[1]);
  if (!match || from < 1 || to > 65_535 || from > to) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a port or range such as 6443 or 30000-32767` });
    return z.NEVER;
  }
  return { from, to };
});

export const defaultReserved = ['1-1023', '2379-2380', '6443', '10250-10259', '30000-32767'];

export const rangeSchema = z
  .strictObject({
    name,
    from: z.number().int().min(1).max(65_535),
    to: z.number().int().min(1).max(65_535),
    // glob patterns of services this range is limited to, e.g. ["postgres-*"]; all when absent
    services: z.array(z.string().min(1)).optional(),
    // environments this range is limited to, e.g. [prod]; all when absent
    envs: z.array(z.string().min(1)).optional(),
  })
  .refine((range) => range.from <= range.to, { message: '`from` must not be above `to`', path: ['to'] });

/** What the admission webhook does with a namespace's findings: refuse, warn (and count), or not look. */
export const admissionModes = ['enforce', 'audit', 'off'] as const;
export type AdmissionMode = (typeof admissionModes)[number];

/** A Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
const labelKey = z
  .string()
  .regex(/^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'must be a Kubernetes label key such as portwarden.dev/service');

export const admissionNamespaceSchema = z.strictObject({
  // a namespace name or a glob (`payments-*`, `*`); the first entry that matches wins
  match: z.string().min(1),
  service: name.optional(), // the service of workloads without the service label
  env: name.optional(), // the environment of workloads without the env label
  mode: z.enum(admissionModes).optional(), // default_mode when absent
});

export const authoritySchema = z.strictObject({
  listen: hostPortWithDefault('127.0.0.1:7400'),
  issuer: z.string().min(1).default('portwarden-authority'),
  data_dir: filePath.default('./data'), // SQLite file and signing keys (0600); with storage.url only admin.token
  // postgres:// or postgresql://: a PostgreSQL database several authorities share, instead of SQLite
  storage: z
    .strictObject({
      url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
      // PostgreSQL connections each authority keeps at most; the three upkeep loops (renewer,
      // register and drill sweepers) each hold one while they run, so fewer than 5 can stall
      pool_size: z.number().int().min(5).max(1000).default(10),
    })
    .prefault({}),
  tls: z.strictObject({ cert: filePath, key: filePath, client_ca: filePath.optional() }).optional(),
  licenses: z
    .strictObject({
      ttl: duration('24h'),
      max_lifetime: duration('30d'),
      renew_before: duration('6h'),
    })
    .prefault({}),
  keys: z.strictObject({ rotate_every: duration('30d') }).prefault({}),
  register: z
    .strictObject({
      approval: z.enum(['auto', 'manual']).default('auto'),
      reserved: z.array(portRange).prefault(defaultReserved),
      ranges: z.array(rangeSchema).default([{ name: 'default', from: 20000, to: 29999 }]),
      stale_after: duration('30d'),
      reuse_cooldown: duration('24h'), // a released number is not handed out again before this
    })
    .prefault({}),
  // the Kubernetes validating admission webhook, POST /v1/admission/validate
  admission: z
    .strictObject({
      enabled: z.boolean().default(false),
      default_mode: z.enum(admissionModes).default('audit'),
      labels: z
        .strictObject({
          service: labelKey.default('portwarden.dev/service'),
          env: labelKey.default('portwarden.dev/env'),
        })
        .prefault({}),
      namespaces: z.array(admissionNamespaceSchema).default([]),
      // how old the in-memory register may get before a review reads the store again
      max_staleness: duration('30s'),
    })
    .prefault({}),
  // what one caller may take of the API (see README's access section)
  limits: z
    .strictObject({
      max_connections: z.number().int().min(1).default(10_000), // open connections, all callers together
      max_watches: z.number().int().min(1).default(5_000), // blocking queries held at once, all tokens together
      max_watches_per_token: z.number().int().min(1).default(500), // ... by one token (the replicas of a service share theirs)
      requests_per_second: z.number().positive().default(100), // per token, sustained
      burst: z.number().int().min(1).default(500), // per token, above the sustained rate: every blocking query one token may hold asks again at once after a change
      headers_timeout: duration('10s'), // a request's headers must arrive within this
      request_timeout: duration('30s'), // ... and its body within this (a blocking query's wait is not counted)
      keep_alive_timeout: duration('30s'), // an idle keep-alive connection is closed after this
    })
    .refine((limits) => limits.max_watches_per_token <= limits.max_watches, { message: 'must not exceed max_watches', path: ['max_watches_per_token'] })
    .refine((limits) => limits.headers_timeout <= limits.request_timeout, { message: 'must not exceed request_timeout', path: ['headers_timeout'] })
    .prefault({}),
  audit: z
    .strictObject({
      // at start: check the newest row against the one before it, walk the whole chain, or neither
      verify_on_start: z.enum(['head', 'full', 'off']).default('head'),
    })
    .prefault({}),
  shutdown_timeout: duration('10s'),
  log: z.strictObject({ level: logLevel }).prefault({}),
});

/** A loaded authority configuration: frozen. */
export type AuthorityConfig = Frozen<z.output<typeof authoritySchema>>;
