import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { freePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { runPortwarden, type CliRun } from '../helpers/cli.ts';


/** Runs `portwarden authority` with `storage.url` set to `url`; resolves with its exit code and output. */
async function startWith(url: string): Promise<CliRun> {
  const dir = await tempDir();
  const config = join(dir, 'authority.yaml');
  await writeFile(config, `listen: 127.0.0.1:0\ndata_dir: ${join(dir, 'data')}\nstorage: { url: "${url}" }\n`);
  return runPortwarden(['authority', '--config', config]);
}

it('exits 1 naming storage.url, without its password, when PostgreSQL is unreachable', async () => {
  const port = await freePort();
  const run = await startWith(`postgres://portwarden:s3cret-pass@127.0.0.1:${port}/portwarden`);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain(`portwarden authority: unavailable: storage.url: cannot open PostgreSQL at postgres://portwarden@127.0.0.1:${port}/portwarden: `);
  expect(run.stderr).toContain('ECONNREFUSED');
  expect(run.stdout + run.stderr).not.toContain('s3cret-pass');
  expect(run.stdout).not.toContain('authority listening');
});

it('exits 2 naming storage.url when it is not a URL', async () => {
  const run = await startWith('postgres://portwarden:s3cret-pass@[::1');
  expect(run.code).toBe(2);
  expect(run.stderr).toBe('portwarden authority: config_invalid: storage.url: not a valid postgres:// URL\n');
});
