import { checkDefinitions, type ConflictOptions } from '../register/conflicts/check.ts';
import type { InputKind, InputProblem, PortDefinition } from '../register/conflicts/definition.ts';
import { readInputs } from './read-inputs.ts';
import type { Finding } from '../register/conflicts/finding.ts';

/** What to check the inputs against. */
export interface CheckOptions extends ConflictOptions {
  /** The service every input belongs to; otherwise each manifest says (label, name). */
  service?: string | undefined;
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


/** A register without ports in the chosen environment is almost always a missing `--env`. */
function registerNotes(options: CheckOptions): InputProblem[] {
  const register = options.register;
  if (!register || register.ports.length === 0 || register.ports.some((port) => port.env === options.env)) return [];
  const envs = [...new Set(register.ports.map((port) => port.env))].sort();
  return [{ file: register.file, line: 0, message: `has no ports in env "${options.env}" (it has ${envs.join(', ')}); pass --env` }];
}
