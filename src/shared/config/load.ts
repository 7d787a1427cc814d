import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, parse as parseYamlValue, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { deepFreeze, type Frozen } from './frozen.ts';
import { plainYaml } from '../yaml-value.ts';

/** A file's text; an unreadable file is a `config_unreadable` ConfigError naming the reason. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError('config_unreadable', [{ file, line: 0, key: '', message: `cannot read file (${reason})` }], { cause });
  }
}

/** Reads, overrides from `PORTWARDEN_*` and validates a YAML file; throws ConfigError listing every problem. */
export async function loadConfigFile<S extends z.ZodType>(
  file: string,
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Frozen<z.output<S>>> {
  return parseConfigText(await readConfigText(file), file, schema, env);
}

/** Like loadConfigFile, for text already read. */
export function parseConfigText<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): Frozen<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((err) => ({
      file,
      // with prettyErrors off, linePos is not filled in: locate the offset ourselves
      line: lineCounter.linePos(err.pos[0]).line,
      key: '',
      message: err.message.split('\n')[0] ?? err.message,
    }));
    throw new ConfigError('config_unreadable', issues);
  }
  const data = plainValue(doc, lineCounter, file);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError('config_invalid', [{ file, line: 1, key: '', message: 'must be a YAML mapping of keys' }]);
  }
  const overridden = applyEnvOverrides(data as Record<string, unknown>, schema, env);

  const result = schema.safeParse(data);
  if (result.success) return deepFreeze(result.data);
  const issues = result.error.issues.map((issue) => {
    const key = formatKeyPath(issue.path);
    const envName = overridden.get(key);
    if (envName) return { file: `env ${envName}`, line: 0, key, message: issue.message };
    // an unknown key is located at the key itself, not at the mapping that holds it
    const at = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
    return { file, line: lineOf(doc, lineCounter, at), key, message: issueMessage(issue) };
  });
  issues.sort((a, b) => a.line - b.line);
  throw new ConfigError('config_invalid', issues);
}

/** The document as plain data; an alias it cannot resolve is `config_unreadable` at the alias's line. */
function plainValue(doc: Document, lineCounter: LineCounter, file: string): unknown {
  const plain = plainYaml(doc, lineCounter);
  if (!plain.ok) throw new ConfigError('config_unreadable', [{ file, line: plain.line, key: '', message: plain.message }]);
  return plain.value ?? {};
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return 'is required';
  return issue.message;
}

/** `ports[0].identity.mode` */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');
}

/** The line of the deepest node on `path` that exists in the document (the parent, for a missing key). */
function lineOf(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as (string | number)[], true) as { range?: [number, number, number] } | undefined;
    const offset = node?.range?.[0];
    if (offset !== undefined) {
      // for a mapping, point at the key that owns it rather than its first child
      if (depth > 0 && isMap(node)) return keyLine(doc, lineCounter, path.slice(0, depth)) ?? lineCounter.linePos(offset).line;
      return lineCounter.linePos(offset).line;
    }
  }
  return 1;
}

function keyLine(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  const parent = doc.getIn(path.slice(0, -1) as (string | number)[], true);
  if (!isMap(parent)) return undefined;
  const last = path[path.length - 1];
  const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
  const offset = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}

/**
 * Applies `PORTWARDEN_<KEY>_<SUBKEY>` overrides for every scalar key of nested objects in the
 * schema (arrays are configured in the file only). Values are read as YAML scalars, so
 * `PORTWARDEN_ADMIN_LISTEN=0.0.0.0:9901` and `PORTWARDEN_LOG_LEVEL=debug` both work.
 * Returns key path -> variable name, to attribute errors to the environment.
 */
function applyEnvOverrides(data: Record<string, unknown>, schema: z.ZodType, env: NodeJS.ProcessEnv): Map<string, string> {
  const overridden = new Map<string, string>();
  for (const path of scalarPaths(schema, [])) {
    const envName = `PORTWARDEN_${path.join('_').toUpperCase()}`;
    const raw = env[envName];
    if (raw === undefined) continue;
    let target = data;
    for (const part of path.slice(0, -1)) {
      const next = target[part];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) target[part] = {};
      target = target[part] as Record<string, unknown>;
    }
    target[path[path.length - 1] as string] = envValue(raw);
    overridden.set(path.join('.'), envName);
  }
  return overridden;
}

/** A variable's value read as a YAML scalar (`30s`, `true`, `9901`); text YAML cannot read is kept as text for the schema to judge. */
function envValue(raw: string): unknown {
  try {
    // logLevel error: a variable holding an unknown tag (`!x`) is the schema's to refuse, not a process warning
    return parseYamlValue(raw, { maxAliasCount: 0, logLevel: 'error' }) ?? raw;
  } catch {
    return raw;
  }
}

function scalarPaths(schema: z.ZodType, prefix: string[]): string[][] {
  const inner = unwrap(schema);
  if (!(inner instanceof z.ZodObject)) return prefix.length > 0 && !(inner instanceof z.ZodArray) ? [prefix] : [];
  return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) => scalarPaths(child, [...prefix, key]));
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}
