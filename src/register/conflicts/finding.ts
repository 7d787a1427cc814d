import type { Protocol } from '../port-record.ts';
import type { DefinitionField, PortDefinition } from './definition.ts';

/** The rules `portwarden check` reports, a closed list; `--help` prints it. */
export const checkRules = {
  reserved_port: 'a number bound on a host lies in a reserved range',
  port_conflict: 'the register assigns the number to another service',
  cooling_down: 'another service released the number less than reuse_cooldown ago',
  assignment_mismatch: 'the service is registered, but not at this number',
  out_of_range: 'no range open to the service and environment holds the number',
  duplicate_in_inputs: 'two definitions in the inputs collide with each other',
} as const;
export type CheckRule = keyof typeof checkRules;

/** One finding: where, which rule, and a message naming what collided with what. */
export interface Finding {
  file: string;
  line: number;
  /** Where in an input without lines (see `PortDefinition.place`). */
  place?: string | undefined;
  rule: CheckRule;
  message: string;
  service: string;
  field: DefinitionField;
  number: number;
  protocol: Protocol;
}

/** A finding about a definition. */
export function finding(def: PortDefinition, rule: CheckRule, message: string): Finding {
  return {
    file: def.file,
    line: def.line,
    ...(def.place === undefined ? {} : { place: def.place }),
    rule,
    message,
    service: def.service,
    field: def.field,
    number: def.number,
    protocol: def.protocol,
  };
}

/** `file:line: rule: message`, as compilers and linters print, so editors and CI annotate the line. */
export function formatFinding(item: Finding): string {
  return `${item.file}:${item.line}: ${item.rule}: ${item.message}`;
}
