import { visit, type Document, type LineCounter } from 'yaml';

/** Aliases resolved per document at most; more is a "billion laughs" file, not a configuration. */
export const maxAliasCount = 1000;

/**
 * A parsed YAML document as plain data. Aliases are resolved here, not while parsing, so an
 * alias that names no anchor, or so many aliases that resolving them would blow up, shows only
 * now: it is answered with the line of the document's first alias and the reason, never thrown.
 */
export function plainYaml(doc: Document, lineCounter: LineCounter): { ok: true; value: unknown } | { ok: false; line: number; message: string } {
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount }) };
  } catch (cause) {
    let offset: number | undefined;
    visit(doc, {
      Alias(_, node) {
        offset ??= node.range?.[0];
      },
    });
    const line = offset === undefined ? 1 : lineCounter.linePos(offset).line;
    return { ok: false, line, message: (cause as Error).message.split('\n')[0] || 'cannot resolve the aliases' };
  }
}
