import { readFile } from 'node:fs/promises';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { InputProblem } from '../register/conflicts/definition.ts';
import { plainYaml } from '../shared/yaml-value.ts';

/** A path into a YAML document: keys and sequence indexes. */
export type YamlPath = readonly (string | number)[];

/** One document of an input file: its plain value and the line of any node in it. */
export interface YamlDoc {
  file: string;
  /** 0-based position of the document in its file. */
  index: number;
  value: unknown;
  /** The line of the node at `path`, or of its nearest existing parent. */
  lineOf(path: YamlPath): number;
}

/** Reading a file gives its documents, or every problem that makes it unreadable. */
export type ReadResult = { ok: true; docs: YamlDoc[] } | { ok: false; problems: InputProblem[] };

/** Reads a (multi-document) YAML or JSON file; a syntax error is a problem with its line. */
export async function readYamlFile(file: string): Promise<ReadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    return { ok: false, problems: [{ file, line: 0, message: `cannot read file (${reason})` }] };
  }
  return parseYamlText(text, file);
}

/** Like readYamlFile, for text already read. Empty documents (a trailing `---`) are dropped. */
export function parseYamlText(text: string, file: string): ReadResult {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const documents: Document.Parsed[] = Array.isArray(parsed) ? parsed : [];
  // with prettyErrors off, `linePos` is not filled in: the line comes from the error's offset
  const problems = documents.flatMap((doc) =>
    doc.errors.map((err) => ({ file, line: lineCounter.linePos(err.pos[0]).line, message: `YAML: ${err.message.split('\n')[0] ?? err.message}` })),
  );
  if (problems.length > 0) return { ok: false, problems };
  const docs: YamlDoc[] = [];
  for (const [index, doc] of documents.entries()) {
    if (doc.contents === null) continue;
    // an alias without its anchor, or an alias bomb: the file is unreadable at the alias
    const plain = plainYaml(doc, lineCounter);
    if (!plain.ok) problems.push({ file, line: plain.line, message: `YAML: ${plain.message}` });
    else docs.push({ file, index, value: plain.value, lineOf: (path) => lineOf(doc, lineCounter, path) });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, docs };
}

function lineOf(doc: Document.Parsed, lineCounter: LineCounter, path: YamlPath): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = (depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true)) as { range?: [number, number, number] } | null | undefined;
    const offset = node?.range?.[0];
    if (offset !== undefined) return lineCounter.linePos(offset).line;
  }
  return 1;
}

// the plain-data readers live beside the rules, so the authority's admission webhook shares them
export { asArray, asPortNumber, asRecord } from '../register/conflicts/plain-values.ts';
