import { formatNumber } from '../number-use.ts';
import { fieldLabels, type PortDefinition } from './definition.ts';
import { finding, type Finding } from './finding.ts';

/**
 * `duplicate_in_inputs`: two definitions of the same number and protocol collide when
 * - both are register numbers of different services (the register gives a number to one
 *   service per environment, wherever it is bound), or
 * - they bind in the same space (one pod, one sidecar, one host, the cluster's node ports) on
 *   overlapping addresses, even within one service.
 * The same service using its number in several places (containerPort, Service port,
 * published port) is not a collision. Each later definition is reported once, against the
 * first earlier one it collides with; inputs are taken in the order given.
 */
export function duplicateFindings(definitions: readonly PortDefinition[]): Finding[] {
  const seen = new Map<string, PortDefinition[]>();
  const findings: Finding[] = [];
  for (const def of definitions) {
    if (!def.registered && def.space === '') continue;
    const key = formatNumber(def.number, def.protocol);
    let earlier = seen.get(key);
    if (!earlier) seen.set(key, (earlier = []));
    for (const first of earlier) {
      const why = collision(first, def);
      if (why) {
        findings.push(finding(def, 'duplicate_in_inputs', `${fieldLabels[def.field]} ${key} ${why} at ${placeOf(first)}`));
        break;
      }
    }
    earlier.push(def);
  }
  return findings;
}

function collision(a: PortDefinition, b: PortDefinition): string | undefined {
  if (a.registered && b.registered && a.service !== b.service) return `is also used by ${a.service}`;
  if (a.space !== '' && a.space === b.space && addressesOverlap(a.hostIp, b.hostIp)) return `is already bound in ${a.spaceLabel}`;
  return undefined;
}

/** `file:line`, or the place inside an input without lines. */
function placeOf(def: PortDefinition): string {
  return def.line > 0 || def.place === undefined ? `${def.file}:${def.line}` : def.place;
}

const wildcards = new Set(['', '0.0.0.0', '::', '[::]', '*']);

/** Two binds overlap unless both name different specific addresses. */
function addressesOverlap(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || wildcards.has(a) || wildcards.has(b)) return true;
  return a === b;
}
