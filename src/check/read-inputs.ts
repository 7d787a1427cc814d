import { composeDefinitions, isComposeFile } from './compose.ts';
import { emptyExtraction, type Extraction, type InputKind } from '../register/conflicts/definition.ts';
import { isKubernetesObject, kubernetesDefinitions } from './kubernetes.ts';
import { isSidecarConfig, sidecarDefinitions } from './sidecar.ts';
import { parseYamlText, readYamlFile, type ReadResult, type YamlDoc } from './yaml-input.ts';

/** One input file as read: its kind (null when it holds no document) and how many definitions it gave. */
export interface InputFile {
  file: string;
  kind: InputKind | null;
}

/** Every input's definitions, in the order the files were given, and every problem at once. */
export interface ReadInputs extends Extraction {
  files: InputFile[];
}

/**
 * Reads the inputs. Each document is recognised by its shape: a Kubernetes object has
 * `apiVersion` and `kind`, a compose file has a `services` mapping, a sidecar configuration
 * has `ports` with `listen`. A document that is none of these is a problem (exit 2): a CI
 * job that passes the wrong file should hear about it rather than pass.
 */
export async function readInputs(files: readonly string[], serviceOverride: string | undefined): Promise<ReadInputs> {
  const out: ReadInputs = { ...emptyExtraction(), files: [] };
  // a file named twice (overlapping globs) would collide with itself
  for (const file of new Set(files)) out.files.push({ file, kind: takeInput(await readYamlFile(file), file, serviceOverride, out) });
  return out;
}

/** One input's text, read into `out` as `readInputs` reads a file; returns its kind (null: unreadable or empty). */
export function readInputText(text: string, file: string, serviceOverride: string | undefined, out: Extraction): InputKind | null {
  return takeInput(parseYamlText(text, file), file, serviceOverride, out);
}

function takeInput(read: ReadResult, file: string, serviceOverride: string | undefined, out: Extraction): InputKind | null {
  if (!read.ok) {
    out.problems.push(...read.problems);
    return null;
  }
  let kind: InputKind | null = null;
  for (const doc of read.docs) {
    const docKind = extract(doc, serviceOverride, out);
    kind ??= docKind ?? null;
  }
  if (read.docs.length === 0) out.notes.push({ file, line: 0, message: 'holds no YAML document; nothing to check' });
  return kind;
}

function extract(doc: YamlDoc, serviceOverride: string | undefined, out: Extraction): InputKind | undefined {
  if (isKubernetesObject(doc.value)) {
    kubernetesDefinitions(doc, serviceOverride, out);
    return 'kubernetes';
  }
  if (isComposeFile(doc.value)) {
    composeDefinitions(doc, serviceOverride, out);
    return 'compose';
  }
  if (isSidecarConfig(doc.value)) {
    sidecarDefinitions(doc, serviceOverride, out);
    return 'sidecar';
  }
  out.problems.push({
    file: doc.file,
    line: doc.lineOf([]),
    message: 'is not a Kubernetes object (apiVersion, kind), a compose file (services) or a sidecar configuration (ports[].listen)',
  });
  return undefined;
}
