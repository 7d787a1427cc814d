/**
 * A private throwaway PostgreSQL cluster (initdb with trust auth, fsync off, a free port on
 * 127.0.0.1, all in a temp directory), with nothing of the test runner: the tests' global setup
 * and the bench both start theirs here. Running as root, the cluster runs as the `postgres` OS
 * user, since PostgreSQL refuses to run as root.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './ports.ts';

export const postgresMissing =
  "PostgreSQL is not installed, so the tests of the PostgreSQL store cannot run. It comes with Debian's postgresql package: apt-get install -y --no-install-recommends postgresql (or set PORTWARDEN_TEST_POSTGRES_URL to a server's URL)";

/** The directory of `initdb` and `postgres` of the newest installed PostgreSQL, if any. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** uid/gid of the `postgres` OS user when running as root; PostgreSQL refuses to run as root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, but there is no `postgres` OS user to run PostgreSQL as');
  return { uid, gid };
}

/** A throwaway PostgreSQL server: `stop` ends it (its data stays), `start` runs it again on the same port, `destroy` ends it and removes its files. */
export interface PostgresCluster {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** Starts a private cluster of the newest installed PostgreSQL (see the file comment); throws without one. */
export async function startPostgresCluster(bin = findPostgresBin()): Promise<PostgresCluster> {
  if (bin === undefined) throw new Error(postgresMissing);
  return startCluster(bin);
}

async function startCluster(bin: string): Promise<PostgresCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'portwarden-pg-'));
  const user = runAs();
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], {
    cwd: dir,
    encoding: 'utf8',
    ...user,
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let running: { server: ChildProcess; exited: Promise<void> } | undefined;
  const start = async () => {
    const server: ChildProcess = spawn(
      join(bin, 'postgres'),
      ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off', '-c', 'max_connections=300', '-c', 'shared_buffers=32MB'],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], ...user },
    );
    let stderr = '';
    server.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    running = { server, exited: new Promise<void>((resolve) => server.once('exit', () => resolve())) };
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new Client({ connectionString: url });
      try {
        await client.connect();
        await client.end();
        return;
      } catch (err) {
        await client.end().catch(() => undefined);
        if (server.exitCode !== null || Date.now() > deadline) throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const stop = async () => {
    if (!running) return;
    const { server, exited } = running;
    running = undefined;
    server.kill('SIGINT'); // fast shutdown: ends every session
    await exited;
  };
  await start();
  return {
    url,
    stop,
    start,
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
