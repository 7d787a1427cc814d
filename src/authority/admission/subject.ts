import type { AdmissionMode, AuthorityConfig } from '../../shared/config/authority-schema.ts';
import { name as nameSchema } from '../../shared/config/schema-parts.ts';
import { labelOf, podTemplateOf } from '../../register/conflicts/kubernetes-ports.ts';
import { globMatches } from '../../register/policy.ts';
import { defaultEnv } from '../../register/port-record.ts';

type AdmissionConfig = AuthorityConfig['admission'];

/** What a namespace's entry in `admission.namespaces` says, with `default_mode` filled in. */
export interface NamespacePolicy {
  mode: AdmissionMode;
  service?: string | undefined;
  env?: string | undefined;
  /** The entry's `match`, for messages; undefined when no entry matched. */
  match?: string | undefined;
}

/** The first entry whose `match` (a name or a glob) holds the namespace; `default_mode` when none does. */
export function namespacePolicy(config: AdmissionConfig, namespace: string): NamespacePolicy {
  const entry = config.namespaces.find((candidate) => globMatches(candidate.match, namespace));
  if (!entry) return { mode: config.default_mode };
  return { mode: entry.mode ?? config.default_mode, service: entry.service, env: entry.env, match: entry.match };
}

/** Whose ports an object holds: its service and environment, and where each was read. */
export type Subject =
  | { ok: true; service: string; env: string; serviceFrom: string; envFrom: string }
  | { ok: false; rule: 'no_service' | 'invalid_label'; message: string };

/**
 * The service and environment of an object's ports, each from the first of:
 * 1. the object's label (`admission.labels.service`, `.env`);
 * 2. its pod template's label (a workload's `spec.template`, a CronJob's job template);
 * 3. the namespace's entry in `admission.namespaces`;
 * 4. for the environment only, `default`, as `portwarden check` uses without `--env`.
 * No service at all is `no_service`; a label that is not a register name is `invalid_label`.
 */
export function subjectOf(object: Record<string, unknown>, namespace: string, policy: NamespacePolicy, config: AdmissionConfig): Subject {
  const template = podTemplateOf(object);
  const where = `namespace ${namespace || '(none)'}`;
  const service = pick(config.labels.service, object, template, policy.service, where);
  const env = pick(config.labels.env, object, template, policy.env, where) ?? { value: defaultEnv, from: 'the default environment' };
  for (const [what, chosen] of [['service', service], ['environment', env]] as const) {
    if (chosen && !nameSchema.safeParse(chosen.value).success) {
      return {
        ok: false,
        rule: 'invalid_label',
        message: `${chosen.from} names ${what} "${chosen.value}", which is not a register name (lowercase letters, digits, ".", "-", "_", 1-63 characters)`,
      };
    }
  }
  if (!service) {
    return {
      ok: false,
      rule: 'no_service',
      message: `no service: label the object or its pod template ${config.labels.service}=<service>, or give ${where} a service in admission.namespaces`,
    };
  }
  return { ok: true, service: service.value, env: env.value, serviceFrom: service.from, envFrom: env.from };
}

function pick(key: string, object: Record<string, unknown>, template: Record<string, unknown> | undefined, fallback: string | undefined, where: string): { value: string; from: string } | undefined {
  const own = labelOf(object, key);
  if (own !== undefined) return { value: own, from: `label ${key}` };
  const templated = labelOf(template, key);
  if (templated !== undefined) return { value: templated, from: `pod template label ${key}` };
  return fallback === undefined ? undefined : { value: fallback, from: `the admission.namespaces entry of ${where}` };
}
