import { emptyExtraction, type Extraction } from '../../../src/register/conflicts/definition.ts';
import { parseYamlText, type YamlDoc } from '../../../src/check/yaml-input.ts';

type Extractor = (doc: YamlDoc, serviceOverride: string | undefined, out: Extraction) => void;

/** Runs one extractor over every document of a YAML text, as `check` does for one file. */
export function extractText(extractor: Extractor, text: string, serviceOverride?: string): Extraction {
  const read = parseYamlText(text, 'in.yaml');
  if (!read.ok) throw new Error(read.problems.map((p) => p.message).join('; '));
  const out = emptyExtraction();
  for (const doc of read.docs) extractor(doc, serviceOverride, out);
  return out;
}

/** `line field number/protocol service` per definition: compact to compare. */
export function brief(out: Extraction): string[] {
  return out.definitions.map((d) => `${d.line} ${d.field} ${d.number}/${d.protocol} ${d.service}`);
}
