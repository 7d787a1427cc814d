import type { Frozen } from '../../shared/config/frozen.ts';
import { indexUses, usesFromRecords, type UseIndex } from '../number-use.ts';
import type { RegisterPolicy } from '../policy.ts';
import type { PortRecord } from '../port-record.ts';
import type { PortDefinition } from './definition.ts';
import { duplicateFindings } from './duplicates.ts';
import type { Finding } from './finding.ts';
import { registerFindings } from './register-rules.ts';

/** What definitions are checked against. */
export interface ConflictOptions {
  env: string;
  policy: RegisterPolicy;
  /**
   * The register's ports; absent checks the policy and the definitions against each other only.
   * `index` is `indexUses(usesFromRecords(ports))`, given when one reading answers many checks.
   */
  register?: { file: string; ports: readonly Frozen<PortRecord>[]; index?: UseIndex | undefined } | undefined;
  /** Milliseconds since the epoch, from the injected clock. */
  now: number;
}

/** The register and input rules over definitions, ordered by input file (as given), then line. */
export function checkDefinitions(definitions: readonly PortDefinition[], options: ConflictOptions, fileOrder: readonly string[] = []): Finding[] {
  const register = options.register;
  const uses = register ? (register.index ?? indexUses(usesFromRecords(register.ports))) : undefined;
  const findings = [...registerFindings(definitions, { env: options.env, policy: options.policy, uses, now: options.now }), ...duplicateFindings(definitions)];
  const rank = (file: string) => {
    const at = fileOrder.indexOf(file);
    return at < 0 ? fileOrder.length : at;
  };
  // Array.prototype.sort is stable: within a line, register findings come before duplicates
  return findings.sort((a, b) => rank(a.file) - rank(b.file) || a.line - b.line);
}
