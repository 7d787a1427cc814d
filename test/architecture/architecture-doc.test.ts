import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';

// docs/architecture.md is the map a new contributor reads first: every path it names must
// exist, and every folder of src must be on it
const root = join(import.meta.dirname, '..', '..');
const doc = await readFile(join(root, 'docs', 'architecture.md'), 'utf8');
const named = new Set([...doc.matchAll(/(?:^|[\s`(])((?:src|test|bench)\/[\w./-]*)/gm)].map((match) => (match[1] as string).replace(/[.,:;)]+$/, '')));

it('names only paths that exist', () => {
  expect(named.size).toBeGreaterThan(40);
  expect([...named].filter((path) => !existsSync(join(root, path)))).toEqual([]);
});

it('names every folder of src', async () => {
  const folders = (await readdir(join(root, 'src'), { withFileTypes: true, recursive: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => `${relative(root, join(entry.parentPath, entry.name))}/`);
  expect(folders.filter((folder) => !named.has(folder))).toEqual([]);
});
