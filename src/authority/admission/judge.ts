import { checkDefinitions } from '../../register/conflicts/check.ts';
import { emptyExtraction, fieldLabels, type Extraction, type PortDefinition } from '../../register/conflicts/definition.ts';
import { checkRules, type Finding } from '../../register/conflicts/finding.ts';
import { kubernetesPorts } from '../../register/conflicts/kubernetes-ports.ts';
import type { RegisterPolicy } from '../../register/policy.ts';
import { adviceFor, type AdviceContext } from './advice.ts';
import { liveKey, type RegisterReading } from './register-view.ts';

/**
 * What the webhook reports, a closed list (it is the `rule` label of
 * `portwarden_admission_reviews_total`): the rules of `portwarden check`, and three of its own.
 */
export const admissionRules = {
  ...checkRules,
  unregistered_service: 'the service holds no port in the register in this environment',
  no_service: 'neither a label nor the namespace says which service the ports belong to',
  invalid_label: 'the service or environment label is not a register name',
} as const;
export type AdmissionRule = keyof typeof admissionRules;

/** One finding about an object: its rule and a line a developer can act on. */
export interface AdmissionFinding {
  rule: AdmissionRule;
  text: string;
}

/** What judging an object gave: findings (refusals in `enforce`), and notes (always only warnings). */
export interface Judgement {
  findings: AdmissionFinding[];
  notes: string[];
}

/** The port definitions of one object (an AdmissionReview's, so no lines: each has a `place`), all of `service`. */
export function objectPorts(object: Record<string, unknown>, service: string): Extraction {
  const out = emptyExtraction();
  kubernetesPorts(object, [], { file: 'object', where: 'object' }, () => service, out);
  return out;
}

/** Identifies an object's ports and whose they are, to tell whether an UPDATE changed them. */
export function portsFingerprint(ports: Extraction, owner: string): string {
  const keys = ports.definitions.map((d) => [d.place, d.field, d.number, d.protocol, d.hostBound, d.hostIp ?? '']);
  return JSON.stringify([owner, keys, ports.problems.length]);
}

/** What the object's ports are judged against: one reading of the register, and its policy. */
export interface JudgeInput {
  ports: Extraction;
  service: string;
  env: string;
  policy: RegisterPolicy;
  reading: RegisterReading;
  now: number;
}

/**
 * The rules of `portwarden check` over the object's ports against the register (the same
 * `checkDefinitions`), then `unregistered_service` for a port no rule refused when its service
 * holds nothing in the environment. Each finding names the place, the rule, the owner of a
 * number held by another service, and what to request instead.
 */
export function judgePorts(input: JudgeInput): Judgement {
  const { ports, service, env, policy, reading, now } = input;
  const defs = ports.definitions;
  const found = checkDefinitions(defs, { env, policy, register: { file: 'authority', ports: reading.ports, index: reading.index }, now });
  const context: AdviceContext = { service, env, policy, reading, now };
  const findings: AdmissionFinding[] = found.map((item) => ({ rule: item.rule, text: line(item, adviceFor(item, defOf(defs, item), context)) }));
  const judged = new Set(found.map((item) => `${item.place}|${item.field}`));
  if (!reading.liveServices.has(liveKey(service, env))) {
    for (const def of defs) {
      if (!def.registered || judged.has(`${def.place}|${def.field}`)) continue;
      const subject = `${fieldLabels[def.field]} ${def.number}/${def.protocol}`;
      findings.push({
        rule: 'unregistered_service',
        text: `${def.place}: unregistered_service: ${subject}: ${service} holds no port in the register in ${env}; ${adviceFor({ rule: 'unregistered_service', number: def.number }, def, context)}`,
      });
    }
  }
  return { findings, notes: notesOf(ports) };
}

/** The ports the extraction could not read, and what it skipped, as notes. */
export function notesOf(ports: Extraction): string[] {
  return [...ports.problems, ...ports.notes].map((problem) => `${problem.place ?? 'object'}: ${problem.message}`);
}

function defOf(defs: readonly PortDefinition[], item: Finding): PortDefinition | undefined {
  return defs.find((def) => def.place === item.place && def.field === item.field && def.number === item.number);
}

function line(item: Finding, advice: string): string {
  return `${item.place ?? 'object'}: ${item.rule}: ${item.message}${advice ? `; ${advice}` : ''}`;
}
