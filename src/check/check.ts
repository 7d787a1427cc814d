import { checkDefinitions, type ConflictOptions } from '../register/conflicts/check.ts';
import type { InputKind, InputProblem, PortDefinition } from '../register/conflicts/definition.ts';
import { defaultEnv } from '../register/port-record.ts';
import { readInputs } from './read-inputs.ts';
import type { Finding } from '../register/conflicts/finding.ts';

/** What to check the inputs against. */
export interface CheckOptions extends Omit<ConflictOptions, 'env'> {
  /**
   * The register environment (`--env`). Absent: `default`, unless the register holds ports in
   * other environments; then nothing is checked and the report's error lists them.
   */
  env?: string | undefined;
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
  const env = options.env ?? defaultEnv;
  const read = await readInputs(files, options.service);
  const refusal = options.env === undefined ? missingEnv(options.register) : [];
  const notes = [...read.notes, ...(refusal.length > 0 ? [] : registerNotes(options.register, env))];
  const listed = read.files.map(({ file, kind }) => ({
    file,
    kind,
    ports: read.definitions.filter((def) => def.file === file).map(({ line, service, field, name, number, protocol }) => ({ line, service, field, name, number, protocol })),
  }));
  const errors = [...read.problems, ...refusal];
  const report = { env, register: options.register?.file ?? null, files: listed, notes, errors };
  if (errors.length > 0) return { ...report, findings: [] };
  return { ...report, findings: checkDefinitions(read.definitions, { ...options, env }, files) };
}

/** The environments the register's ports are in, sorted. */
function registerEnvs(register: CheckOptions['register']): string[] {
  return [...new Set((register?.ports ?? []).map((port) => port.env))].sort();
}

/**
 * Without `--env`, a register that holds ports outside `default` is refused (exit 2): checking
 * `default` would pass a pipeline that forgot `--env` over a real conflict in `prod`.
 */
function missingEnv(register: CheckOptions['register']): InputProblem[] {
  const envs = registerEnvs(register);
  if (!register || envs.every((env) => env === defaultEnv)) return [];
  return [{ file: register.file, line: 0, message: `holds ports in env ${envs.join(', ')}: pass --env with the one these inputs deploy to; nothing was checked` }];
}

/** A register without ports in the chosen environment (a new one, or a typo) is worth a note. */
function registerNotes(register: CheckOptions['register'], env: string): InputProblem[] {
  if (!register || register.ports.length === 0 || register.ports.some((port) => port.env === env)) return [];
  return [{ file: register.file, line: 0, message: `has no ports in env "${env}" (it has ${registerEnvs(register).join(', ')}); check --env` }];
}
