/**
 * A real PostgreSQL server for the tests of the shared store.
 *
 * `setup` is vitest's globalSetup: once per test run it starts a private throwaway cluster
 * (initdb with trust auth, fsync off, a free port on 127.0.0.1, all in a temp directory) and
 * hands its URL to the test files; `freshPostgresUrl` then makes each test its own database.
 * With `PORTWARDEN_TEST_POSTGRES_URL` set, that server is used instead (a user allowed to
 * CREATE DATABASE). Running as root, the cluster runs as the `postgres` OS user, since
 * PostgreSQL refuses to run as root.
 *
 * PostgreSQL comes with Debian's postgresql package, not with npm: `.ci/run` installs it, so in
 * CI (`CI` set) these tests always run and a missing server fails them. On a developer's machine
 * without it they are skipped, and the reason is printed once per file.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { inject, it, onTestFinished } from 'vitest';
import type { TestProject } from 'vitest/node';
import { findPostgresBin, postgresMissing, startPostgresCluster } from './postgres-cluster.ts';

export { findPostgresBin, postgresMissing, startPostgresCluster, type PostgresCluster } from './postgres-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL of the test server, or null when there is none. */
    postgresUrl: string | null;
  }
}

/** vitest globalSetup: starts the cluster (unless a URL is given or none is installed) and provides its URL. */
export async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.PORTWARDEN_TEST_POSTGRES_URL;
  if (given) {
    project.provide('postgresUrl', given);
    return undefined;
  }
  const bin = findPostgresBin();
  if (bin === undefined) {
    project.provide('postgresUrl', null);
    return undefined;
  }
  const cluster = await startPostgresCluster(bin);
  project.provide('postgresUrl', cluster.url);
  return cluster.destroy;
}


const serverUrl = (() => {
  try {
    return inject('postgresUrl');
  } catch {
    return null; // not inside a test worker (the globalSetup itself)
  }
})();

/** True when the tests have a PostgreSQL server. */
export const postgresAvailable = serverUrl !== null && serverUrl !== undefined;

/** `it` for tests that need PostgreSQL: skipped without it, except in CI, where they fail with how to install it. */
export const withPostgres = postgresAvailable || process.env.CI ? it : it.skip;

let warned = false;
/** Prints once why the PostgreSQL tests of this file are skipped. */
export function warnIfNoPostgres(): void {
  if (postgresAvailable || process.env.CI || warned) return;
  warned = true;
  console.warn(`${postgresMissing}; those tests are skipped here (CI runs them)`);
}

/** A new empty database on the test server, dropped when the test finishes; its URL. */
export async function freshPostgresUrl(): Promise<string> {
  if (!serverUrl) throw new Error(postgresMissing);
  const name = `portwarden_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  onTestFinished(async () => {
    // cleanups run last-registered first, so whatever the test opened on it is closed by now
    const drop = new Client({ connectionString: serverUrl });
    await drop.connect();
    await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => drop.end());
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
