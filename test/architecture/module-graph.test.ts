import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';

/**
 * What each process loads: `main.ts` loads a command's module only when it runs, so `--help`
 * answers at once and a sidecar carries none of the authority, the register, the check readers
 * or PostgreSQL's driver. Measured on the real binary, with a load hook that lists every module.
 */

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const hook = join(root, 'test', 'helpers', 'record-modules.ts');

/** The project files (`src/...`) and packages a `portwarden ARGS` process loaded. */
async function loadedBy(args: string[]): Promise<{ code: number; files: string[]; packages: Set<string> }> {
  const out = join(await tempDir('portwarden-modules-'), 'modules.txt');
  const code = await run(process.execPath, ['--import', hook, join(root, 'bin', 'portwarden.js'), ...args], { env: { ...process.env, RECORD_MODULES: out } }).then(
    () => 0,
    (err: { code: number }) => err.code,
  );
  const urls = (await readFile(out, 'utf8')).split('\n').filter((url) => url.startsWith('file:'));
  const paths = urls.map((url) => relative(root, new URL(url).pathname));
  const packages = new Set(paths.flatMap((path) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? []));
  return { code, files: paths.filter((path) => path.startsWith('src/')).sort(), packages };
}

describe('what a process loads', () => {
  it('portwarden --help loads the command table alone: no command, no package', async () => {
    const { code, files, packages } = await loadedBy(['--help']);
    expect(code).toBe(0);
    expect(files).toEqual(['src/cli/main.ts', 'src/shared/config/config-error.ts', 'src/shared/errors.ts']);
    expect([...packages]).toEqual([]);
  });

  it('an unknown command is refused (exit 2) having loaded no more than --help', async () => {
    const { code, files, packages } = await loadedBy(['nonsense']);
    expect(code).toBe(2);
    expect(files).toEqual(['src/cli/main.ts', 'src/shared/config/config-error.ts', 'src/shared/errors.ts']);
    expect([...packages]).toEqual([]);
  });

  it('the sidecar loads neither the authority, the register, the check readers nor pg', async () => {
    const { files, packages } = await loadedBy(['sidecar', '--help']);
    expect(files).toContain('src/sidecar/runtime.ts');
    expect(files.filter((file) => /^src\/(authority|register|check|demo)\//.test(file))).toEqual([]);
    expect(packages.has('pg')).toBe(false);
  });

  it('the authority loads none of the sidecar and, on SQLite, not pg', async () => {
    const { files, packages } = await loadedBy(['authority', '--help']);
    expect(files).toContain('src/authority/authority.ts');
    expect(files.filter((file) => file.startsWith('src/sidecar/'))).toEqual([]);
    expect(packages.has('pg')).toBe(false);
  });

  it('check loads the readers and the register rules, not the authority or the sidecar', async () => {
    const { files } = await loadedBy(['check', '--help']);
    expect(files).toContain('src/check/read-inputs.ts');
    expect(files.filter((file) => /^src\/(authority|sidecar)\//.test(file))).toEqual([]);
  });

  it('the API commands load the API client only', async () => {
    const { files, packages } = await loadedBy(['licenses', '--help']);
    expect(files.filter((file) => /^src\/(authority|sidecar|register|check)\//.test(file))).toEqual([]);
    expect([...packages].sort()).toEqual(['undici']);
  });
});
