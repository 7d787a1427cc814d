import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findPostgresBin, startPostgresCluster } from '../../test/helpers/postgres-cluster.ts';

const run = promisify(execFile);

/** A throwaway PostgreSQL cluster with pgbench's tables, and the pgbench that loads it. */
export interface PgbenchDatabase {
  /** The server's port on 127.0.0.1: the `postgres` upstream of every front. */
  port: number;
  /** The pgbench of the same PostgreSQL (not Debian's version-picking wrapper). */
  pgbench: string;
  close(): Promise<void>;
}

/** Why the pgbench load cannot run here, or undefined when it can (initdb, postgres and pgbench found). */
export function pgbenchMissing(): string | undefined {
  const bin = findPostgresBin();
  if (bin === undefined) return 'pgbench load (initdb/postgres not installed: apt-get install postgresql)';
  if (!existsSync(join(bin, 'pgbench'))) return 'pgbench load (pgbench not installed: apt-get install postgresql-client)';
  return undefined;
}

/** Starts a cluster (`test/helpers/postgres-cluster.ts`) and fills pgbench's tables at scale 1 (100,000 accounts). */
export async function startPgbenchDatabase(): Promise<PgbenchDatabase> {
  const bin = findPostgresBin() as string;
  const pgbench = join(bin, 'pgbench');
  const cluster = await startPostgresCluster(bin);
  try {
    await run(pgbench, ['-i', '-s', '1', '-q', ...connection(cluster.port)]);
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return { port: cluster.port, pgbench, close: cluster.destroy };
}

function connection(port: number): string[] {
  return ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'postgres'];
}

export interface PgbenchOptions {
  /** `-C`: a new connection (and so a new server backend) for every transaction. */
  connectPerTransaction: boolean;
  durationSec: number;
  /** pgbench clients (`-c`), spread over two threads (`-j 2`). */
  clients?: number;
}

/**
 * pgbench's built-in select-only script (`-S`: one primary-key SELECT per transaction, one
 * round trip) through `port` for `durationSec`; with `connectPerTransaction` (`-C`) each
 * transaction connects, authenticates, selects and disconnects. Returns pgbench's tps
 * (`-S`: without the initial connections; `-C`: including every reconnection).
 */
export async function pgbenchTps(db: PgbenchDatabase, port: number, { connectPerTransaction, durationSec, clients = 8 }: PgbenchOptions): Promise<number> {
  const args = ['-S', '-n', '-c', String(clients), '-j', '2', '-T', String(durationSec), ...(connectPerTransaction ? ['-C'] : []), ...connection(port)];
  const { stdout } = await run(db.pgbench, args, { maxBuffer: 1 << 20 });
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
  const tps = Number(/^tps = ([\d.]+)/m.exec(stdout)?.[1]);
  if (failed > 0 || !Number.isFinite(tps)) throw new Error(`pgbench through port ${port} failed:\n${stdout}`);
  return tps;
}
