import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The folder rules of docs/architecture.md, checked on every import in src: the register rules
 * stand alone, the authority and the check readers meet only there, the sidecar carries none
 * of the control plane, and neither store backend reaches into the other.
 */

const root = join(import.meta.dirname, '..', '..');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** Every `from` / `import()` of a project file, as `importer -> imported` paths from the repo root. */
const edges: { from: string; to: string }[] = [];
for (const file of await sourceFiles('src')) {
  const text = await readFile(join(root, file), 'utf8');
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    edges.push({ from: file, to: relative(root, join(dirname(join(root, file)), match[1] as string)) });
  }
}

/** Imports from files under `from` into files under `to`, as `importer -> imported`. */
function crossing(from: string, to: string): string[] {
  return edges.filter((edge) => edge.from.startsWith(from) && edge.to.startsWith(to)).map((edge) => `${edge.from} -> ${edge.to}`);
}

describe('folder rules', () => {
  it('reads the imports of every source file', () => {
    expect(edges.length).toBeGreaterThan(500);
    expect(crossing('src/authority/', 'src/register/').length).toBeGreaterThan(0);
  });

  it('the register rules import neither the authority, the check readers, the sidecar nor the CLI', () => {
    for (const other of ['src/authority/', 'src/check/', 'src/sidecar/', 'src/cli/']) expect(crossing('src/register/', other)).toEqual([]);
  });

  it('the authority and check meet only through src/register', () => {
    expect(crossing('src/authority/', 'src/check/')).toEqual([]);
    expect(crossing('src/check/', 'src/authority/')).toEqual([]);
  });

  it('the sidecar carries nothing of the control plane or the CLI', () => {
    for (const other of ['src/authority/', 'src/register/', 'src/check/', 'src/cli/', 'src/demo/']) expect(crossing('src/sidecar/', other)).toEqual([]);
  });

  it('the authority carries nothing of the sidecar', () => {
    expect(crossing('src/authority/', 'src/sidecar/')).toEqual([]);
  });

  it('shared code depends on no product folder', () => {
    for (const other of ['src/authority/', 'src/register/', 'src/check/', 'src/sidecar/', 'src/cli/', 'src/demo/']) expect(crossing('src/shared/', other)).toEqual([]);
  });

  it('neither store backend imports the other', () => {
    expect(crossing('src/authority/store/sqlite/', 'src/authority/store/postgres/')).toEqual([]);
    expect(crossing('src/authority/store/postgres/', 'src/authority/store/sqlite/')).toEqual([]);
  });
});
