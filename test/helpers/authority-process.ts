import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { tempDir } from './tmp.ts';
import { waitFor } from './wait.ts';

export interface AuthorityProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  dataDir: string;
  /** Where it wrote the bootstrap admin token, and the token. */
  adminTokenFile: string;
  adminToken: string;
  /** Everything it printed on standard output so far (NDJSON). */
  log(): string;
  /** Resolves to the exit code. */
  exited: Promise<number | null>;
}

/**
 * Runs `portwarden authority` (the real CLI) on an ephemeral loopback port with a fresh data
 * directory, and resolves once it logs `authority listening`. Killed when the test finishes.
 * `config` is more of the authority file (YAML), e.g. a `register:` section; `listen` and
 * `dataDir` start it on a given address and data (a restart).
 */
export async function spawnAuthority(options: { config?: string; listen?: string; dataDir?: string } = {}): Promise<AuthorityProcess> {
  const dir = await tempDir();
  const dataDir = options.dataDir ?? join(dir, 'data');
  const config = join(dir, 'authority.yaml');
  await writeFile(config, `listen: ${options.listen ?? '127.0.0.1:0'}\ndata_dir: ${dataDir}\nlog: { level: info }\n${options.config ?? ''}`);
  const child = spawn('node_modules/.bin/node', ['bin/portwarden.js', 'authority', '--config', config], { env: { PATH: process.env.PATH ?? '' } });
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const ready = await waitFor(() => log.split('\n').find((line) => line.includes('"authority listening"')), { timeoutMs: 15_000, what: 'the authority to listen' });
  const { url, admin_token_file: adminTokenFile } = JSON.parse(ready) as { url: string; admin_token_file: string };
  const adminToken = (await readFile(adminTokenFile, 'utf8')).trim();
  return { child, url, dataDir, adminTokenFile, adminToken, log: () => log, exited };
}
