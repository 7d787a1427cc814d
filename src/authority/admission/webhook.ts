import type { AuthorityConfig } from '../../shared/config/authority-schema.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { hasPorts } from '../../register/conflicts/kubernetes-ports.ts';
import { asRecord } from '../../register/conflicts/plain-values.ts';
import type { RegisterPolicy } from '../../register/policy.ts';
import { judgePorts, notesOf, objectPorts, portsFingerprint, type AdmissionFinding, type AdmissionRule } from './judge.ts';
import type { AdmissionAnswer, AdmissionRequest } from './review.ts';
import type { RegisterView } from './register-view.ts';
import { namespacePolicy, subjectOf, type NamespacePolicy, type Subject } from './subject.ts';

/** How a review ended, for `portwarden_admission_reviews_total{result}` (`error` is counted by the route). */
export type ReviewResult = 'allowed' | 'warned' | 'refused';

/** The answer, and what to count and log about it. */
export interface ReviewOutcome extends AdmissionAnswer {
  result: ReviewResult;
  /** The first finding's rule; empty when there was none. */
  rule: AdmissionRule | '';
  mode: NamespacePolicy['mode'] | undefined;
}

export interface WebhookOptions {
  config: AuthorityConfig['admission'];
  policy: RegisterPolicy;
  view: RegisterView;
  now(): number;
}

/**
 * Decides one AdmissionRequest:
 * - DELETE and CONNECT, objects being deleted, kinds without ports, namespaces in mode `off`
 *   and objects without ports are allowed without a look at the register;
 * - an UPDATE whose ports, service and environment are those of `oldObject` is allowed: they
 *   were judged when they came in, and refusing an unrelated change (an image, a label, a
 *   finalizer's removal) would block rollouts and deletions over a register change;
 * - otherwise the ports are judged (`judgePorts`) and, in `enforce`, any finding refuses the
 *   object; in `audit` findings become warnings. Notes are always only warnings.
 */
export class AdmissionWebhook {
  readonly #o: WebhookOptions;

  constructor(options: WebhookOptions) {
    this.#o = options;
  }

  async review(request: AdmissionRequest): Promise<ReviewOutcome> {
    const allowed = (mode?: NamespacePolicy['mode'], warnings: string[] = []): ReviewOutcome => ({ allowed: true, warnings, result: warnings.length > 0 ? 'warned' : 'allowed', rule: '', mode });
    if (request.operation === 'DELETE' || request.operation === 'CONNECT') return allowed();
    const given = request.object;
    if (!given) throw new PortwardenError('bad_request', `request.object: required for ${request.operation}`);
    // the review's kind is authoritative (matchPolicy: Equivalent may convert the object)
    const object: Record<string, unknown> = { ...given, kind: request.kind.kind };
    const namespace = request.namespace ?? stringAt(asRecord(object.metadata)?.namespace) ?? '';
    const policy = namespacePolicy(this.#o.config, namespace);
    if (policy.mode === 'off' || !hasPorts(request.kind.kind) || asRecord(object.metadata)?.deletionTimestamp) return allowed(policy.mode);

    const subject = subjectOf(object, namespace, policy, this.#o.config);
    const ports = objectPorts(object, subject.ok ? subject.service : '');
    if (ports.definitions.length === 0 && ports.problems.length === 0 && ports.notes.length === 0) return allowed(policy.mode);
    if (request.operation === 'UPDATE' && request.oldObject && this.#unchanged(ports, subject, { ...request.oldObject, kind: request.kind.kind }, namespace, policy)) {
      return allowed(policy.mode);
    }

    let findings: AdmissionFinding[];
    let notes: string[];
    if (!subject.ok) {
      findings = ports.definitions.length > 0 ? [{ rule: subject.rule, text: `${subject.rule}: ${subject.message}` }] : [];
      notes = notesOf(ports);
    } else {
      const { reading, staleNote } = await this.#o.view.current();
      ({ findings, notes } = judgePorts({ ports, service: subject.service, env: subject.env, policy: this.#o.policy, reading, now: this.#o.now() }));
      if (staleNote) notes.push(staleNote);
    }
    const rule = findings[0]?.rule ?? '';
    const noteWarnings = notes.map((note) => `portwarden: ${note}`);
    if (findings.length === 0) return allowed(policy.mode, noteWarnings);
    if (policy.mode === 'audit') {
      const warnings = [...findings.map((f) => `portwarden (audit, would refuse): ${f.text}`), ...noteWarnings];
      return { allowed: true, warnings, result: 'warned', rule, mode: policy.mode };
    }
    return { allowed: false, message: refusal(request, object, subject, findings), warnings: noteWarnings, result: 'refused', rule, mode: policy.mode };
  }

  #unchanged(ports: ReturnType<typeof objectPorts>, subject: Subject, old: Record<string, unknown>, namespace: string, policy: NamespacePolicy): boolean {
    const oldSubject = subjectOf(old, namespace, policy, this.#o.config);
    const oldPorts = objectPorts(old, oldSubject.ok ? oldSubject.service : '');
    return portsFingerprint(ports, ownerKey(subject)) === portsFingerprint(oldPorts, ownerKey(oldSubject));
  }
}

function ownerKey(subject: Subject): string {
  return subject.ok ? `${subject.service}@${subject.env}` : `!${subject.rule}`;
}

/** The refusal's message: which object, whose ports and why, then one line per finding. */
function refusal(request: AdmissionRequest, object: Record<string, unknown>, subject: Subject, findings: AdmissionFinding[]): string {
  const metadata = asRecord(object.metadata);
  const name = request.name || stringAt(metadata?.name) || (stringAt(metadata?.generateName) ? `${stringAt(metadata?.generateName)}*` : '(unnamed)');
  const where = request.namespace ? `${request.namespace}/${name}` : name;
  const whose = subject.ok ? ` (service ${subject.service} from ${subject.serviceFrom}, env ${subject.env} from ${subject.envFrom})` : '';
  const count = findings.length === 1 ? '1 port finding' : `${findings.length} port findings`;
  return [`${request.kind.kind} ${where}${whose}: ${count}`, ...findings.map((f) => `- ${f.text}`)].join('\n');
}

function stringAt(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
