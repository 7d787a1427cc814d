import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

/** Where the console's files are: plain ES modules, CSS and HTML, served as they are. */
export const consoleDir = join(import.meta.dirname, 'web');

/** One file of the console, ready to answer: its bytes as text, its type and its ETag. */
export interface ConsoleAsset {
  text: string;
  contentType: string;
  etag: string;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The console's files, read once into memory. Only the types above are served (the
 * type-checking config and declarations beside them are not), and only by their plain name:
 * the directory is flat, so no request can name a path outside it.
 */
export function loadConsoleAssets(dir = consoleDir): ReadonlyMap<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const contentType = contentTypes[extname(entry.name)];
    if (!entry.isFile() || contentType === undefined || entry.name.endsWith('.d.ts')) continue;
    const text = readFileSync(join(dir, entry.name), 'utf8');
    const etag = `"${createHash('sha256').update(text).digest('base64url').slice(0, 22)}"`;
    assets.set(entry.name, { text, contentType, etag });
  }
  if (!assets.has('index.html')) throw new Error(`the console's index.html is missing from ${dir}`);
  return assets;
}
