import { Constraints } from '../constraints.ts';
import { formatNumber, indexUses, type NumberUse, type UseIndex } from '../number-use.ts';
import { formatSpan, type RegisterPolicy } from '../policy.ts';
import { fieldLabels, type PortDefinition } from './definition.ts';
import { finding, type Finding } from './finding.ts';

/** What definitions are checked against: the policy, and the register's numbers when one was given. */
export interface RegisterView {
  env: string;
  policy: RegisterPolicy;
  /** The register's numbers (all environments), maybe indexed already; undefined checks the policy alone. */
  uses?: readonly NumberUse[] | UseIndex | undefined;
  /** Milliseconds since the epoch, for the reuse cool-down. */
  now: number;
}

/**
 * At most one finding per definition, the first rule that applies, in this order:
 * 1. `reserved_port`: a host-bound number in a reserved span (a sidecar port may allow it);
 * 2. with a register: the number is held by the definition's own service: clean, whatever the
 *    ranges say now (a number changes only through a transition);
 *    `port_conflict`: held by another service; `cooling_down`: released by another service
 *    less than `reuse_cooldown` ago; `assignment_mismatch`: the service holds other numbers;
 * 3. `out_of_range`: no range open to the service and environment holds the number.
 * Only `registered` definitions are checked, and a Service's numeric `targetPort`, which is
 * `port_conflict` when the register gives the number to another service and not to the
 * Service's own: it forwards to another service's port. Ports are matched by service, not by
 * name, because manifests name ports (`http`) independently of the register (`api`).
 */
export function registerFindings(definitions: readonly PortDefinition[], view: RegisterView): Finding[] {
  const index = view.uses === undefined ? undefined : 'slots' in view.uses ? view.uses : indexUses(view.uses);
  const constraints = new Constraints(view.policy, index ?? [], view.now);
  const findings: Finding[] = [];
  for (const def of definitions) {
    const found = def.registered ? check(def, view, index, constraints) : def.field === 'targetPort' ? checkTarget(def, view, index, constraints) : undefined;
    if (found) findings.push(found);
  }
  return findings;
}

/** A forwarding target is not the Service's number, but it must not be another service's. */
function checkTarget(def: PortDefinition, view: RegisterView, index: UseIndex | undefined, constraints: Constraints): Finding | undefined {
  if (!index) return undefined;
  const held = constraints.usesAt(view.env, def.protocol, def.number).filter((use) => use.releasedAt === undefined);
  const other = held[0];
  if (!other || held.some((use) => use.service === def.service)) return undefined;
  const subject = `${fieldLabels[def.field]} ${formatNumber(def.number, def.protocol)}`;
  return finding(def, 'port_conflict', `${subject} is registered to ${other.service}/${other.name} in ${view.env}: the Service forwards to another service's port`);
}

function check(def: PortDefinition, view: RegisterView, index: UseIndex | undefined, constraints: Constraints): Finding | undefined {
  const subject = `${fieldLabels[def.field]} ${formatNumber(def.number, def.protocol)}`;
  if (def.hostBound && !def.reservedAllowed) {
    const reserved = constraints.checkReserved(def.number);
    if (reserved?.rule === 'reserved') {
      const hint = def.kind === 'sidecar' ? '; set allow_reserved_listen: true on the port to allow it' : '';
      return finding(def, 'reserved_port', `${subject} is in the reserved range ${formatSpan(reserved.reserved)}${hint}`);
    }
  }
  if (index) {
    const here = constraints.usesAt(view.env, def.protocol, def.number);
    const held = here.filter((use) => use.releasedAt === undefined);
    if (held.some((use) => use.service === def.service)) return undefined;
    const mine = (index.byService.get(def.service) ?? []).filter(
      (use) => use.releasedAt === undefined && use.service === def.service && use.env === view.env && use.protocol === def.protocol,
    );
    const other = held[0];
    if (other) {
      const also = mine.length > 0 ? `; ${registeredAt(def, mine)}` : '';
      return finding(def, 'port_conflict', `${subject} is registered to ${other.service}/${other.name} in ${view.env}${also}`);
    }
    const cooling = coolingUse(here, def.service, view);
    if (cooling) {
      const { use, freeAt } = cooling;
      const released = new Date(use.releasedAt ?? 0).toISOString();
      return finding(def, 'cooling_down', `${subject} was released by ${use.service}/${use.name} at ${released} and is free again at ${new Date(freeAt).toISOString()}`);
    }
    if (mine.length > 0) return finding(def, 'assignment_mismatch', `${subject} does not match the register: ${registeredAt(def, mine)} in ${view.env}`);
  }
  const range = constraints.checkRange({ service: def.service, name: def.name ?? '', env: view.env, protocol: def.protocol, number: def.number }, subject);
  return range.ok ? undefined : finding(def, 'out_of_range', range.message);
}

/** The most recent release of this number by another service that is still cooling down. */
function coolingUse(uses: readonly NumberUse[], service: string, view: RegisterView): { use: NumberUse; freeAt: number } | undefined {
  let latest: { use: NumberUse; freeAt: number } | undefined;
  for (const use of uses) {
    if (use.releasedAt === undefined || use.service === service) continue;
    const freeAt = use.releasedAt + view.policy.reuseCooldownMs;
    if (view.now < freeAt && (!latest || freeAt > latest.freeAt)) latest = { use, freeAt };
  }
  return latest;
}

/** `payments/api is registered at 20001/tcp`, or every number of the service when the name does not match. */
function registeredAt(def: PortDefinition, mine: readonly NumberUse[]): string {
  const sameName = mine.filter((use) => use.name === def.name);
  if (sameName.length > 0) return `${def.service}/${def.name} is registered at ${sameName.map((use) => formatNumber(use.number, use.protocol)).join(' and ')}`;
  const sorted = [...mine].sort((a, b) => a.number - b.number);
  return `${def.service} is registered at ${sorted.map((use) => `${formatNumber(use.number, use.protocol)} (${use.name})`).join(', ')}`;
}
