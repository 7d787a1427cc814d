import { usesFromRecords } from '../register/number-use.ts';
import type { RegisterPolicy } from '../register/policy.ts';
import type { PortRecord } from '../register/port-record.ts';
import type { InputKind, InputProblem, PortDefinition } from '../register/conflicts/definition.ts';
import { duplicateFindings } from '../register/conflicts/duplicates.ts';
import { readInputs } from './read-inputs.ts';
import { registerFindings } from '../register/conflicts/register-rules.ts';
import type { Finding } from '../register/conflicts/finding.ts';

/** What to check the inputs against. */
export interface CheckOptions {
  /** The service every input belongs to; otherwise each manifest says (label, name). */
  service?: string | undefined;
  env: string;
  policy: RegisterPolicy;
  /** The register's ports; absent checks the policy and the inputs against each other only. */
  register?: { file: string; ports: readonly PortRecord[] } | undefined;
  /** Milliseconds since the epoch, from the injected clock. */
  now: number;
}

/** A port found in an input, as `--format json` lists it. */
export interface ListedPort {
  line: number;
  service: string;
  field: PortDefinition['field'];
  name?: string | undefined;
  number: number;
  protocol: PortDefinition['protocol'];
}

/** The whole result: `errors` (unreadable inputs, exit 2), else `findings` (exit 1), else clean. */
export interface CheckReport {
  env: string;
  register: string | null;
  findings: Finding[];
  files: { file: string; kind: InputKind | null; ports: ListedPort[] }[];
  notes: InputProblem[];
  errors: InputProblem[];
}

/**
 * Reads every input and checks it. When any input is unreadable nothing is checked: a
 * partial check would miss collisions with the part that could not be read.
 */
export async function checkFiles(files: readonly string[], options: CheckOptions): Promise<CheckReport> {
  const read = await readInputs(files, options.service);
  const notes = [...read.notes, ...registerNotes(options)];
  const listed = read.files.map(({ file, kind }) => ({
    file,
    kind,
    ports: read.definitions.filter((def) => def.file === file).map(({ line, service, field, name, number, protocol }) => ({ line, service, field, name, number, protocol })),
  }));
  const report = { env: options.env, register: options.register?.file ?? null, files: listed, notes, errors: read.problems };
  if (read.problems.length > 0) return { ...report, findings: [] };
  return { ...report, findings: checkDefinitions(read.definitions, options, files) };
}

/** The register and input rules over definitions, ordered by input file (as given), then line. */
export function checkDefinitions(definitions: readonly PortDefinition[], options: CheckOptions, fileOrder: readonly string[] = []): Finding[] {
  const uses = options.register ? usesFromRecords(options.register.ports) : undefined;
  const findings = [...registerFindings(definitions, { env: options.env, policy: options.policy, uses, now: options.now }), ...duplicateFindings(definitions)];
  const rank = (file: string) => {
    const at = fileOrder.indexOf(file);
    return at < 0 ? fileOrder.length : at;
  };
  // Array.prototype.sort is stable: within a line, register findings come before duplicates
  return findings.sort((a, b) => rank(a.file) - rank(b.file) || a.line - b.line);
}

/** A register without ports in the chosen environment is almost always a missing `--env`. */
function registerNotes(options: CheckOptions): InputProblem[] {
  const register = options.register;
  if (!register || register.ports.length === 0 || register.ports.some((port) => port.env === options.env)) return [];
  const envs = [...new Set(register.ports.map((port) => port.env))].sort();
  return [{ file: register.file, line: 0, message: `has no ports in env "${options.env}" (it has ${envs.join(', ')}); pass --env` }];
}
