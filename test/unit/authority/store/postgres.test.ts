import { Client } from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { PostgresStore, redactedUrl } from '../../../../src/authority/store/postgres/store.ts';
import { freshPostgresUrl, warnIfNoPostgres, withPostgres } from '../../../helpers/postgres.ts';
import { freePort } from '../../../helpers/ports.ts';
import { waitFor } from '../../../helpers/wait.ts';

warnIfNoPostgres();

async function open(url: string): Promise<PostgresStore> {
  const store = await PostgresStore.open({ url });
  onTestFinished(() => store.close());
  return store;
}

describe('PostgresStore', () => {
  withPostgres('hears changes other stores commit, only once they commit, and not its own', async () => {
    const url = await freshPostgresUrl();
    const [a, b] = await Promise.all([open(url), open(url)]); // both migrate at once: the lock keeps them apart
    const heardByA: [string, number][] = [];
    const heardByB: [string, number][] = [];
    a.onChange((service, index) => heardByA.push([service, index]));
    const stop = b.onChange((service, index) => heardByB.push([service, index]));
    await waitFor(async () => {
      // a listener is up once a probe change is heard
      await a.transaction((tx) => tx.index.bump('probe'));
      return heardByB.length > 0;
    }, { what: 'the listener' });

    await expect(a.transaction(async (tx) => {
      await tx.index.bump('rolled-back');
      throw new Error('boom');
    })).rejects.toThrow('boom');
    const index = await a.transaction((tx) => tx.index.bump('payments'));
    const real = () => heardByB.filter(([service]) => service !== 'probe');
    await waitFor(() => real().length > 0, { what: 'the change' });
    expect(real()).toEqual([['payments', index]]);
    expect(heardByA.filter(([service]) => service !== 'probe')).toEqual([]);
    stop();
    await a.transaction((tx) => tx.index.bump('payments'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(real()).toHaveLength(1);
  });

  withPostgres('re-connects its listener and announces what changed while it was away', async () => {
    const url = await freshPostgresUrl();
    const [a, b] = [await open(url), await open(url)];
    const heard: [string, number][] = [];
    b.onChange((service, index) => heard.push([service, index]));
    await waitFor(async () => {
      await a.transaction((tx) => tx.index.bump('probe'));
      return heard.length > 0;
    }, { what: 'the listener' });

    const admin = new Client({ connectionString: url });
    await admin.connect();
    onTestFinished(() => admin.end());
    const kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'portwarden-authority-listen' AND datname = current_database()";
    expect((await admin.query(kill)).rowCount).toBe(1);
    const missed = await a.transaction((tx) => tx.index.bump('payments'));
    await waitFor(() => heard.some(([service, index]) => service === 'payments' && index === missed), { what: 'the missed change', timeoutMs: 10_000 });
    // and it listens again
    const next = await a.transaction((tx) => tx.index.bump('orders'));
    await waitFor(() => heard.some(([service, index]) => service === 'orders' && index === next), { what: 'the next change' });
  });

  withPostgres("hears other stores' register writes once they commit, not its own, and after a re-connect", async () => {
    const url = await freshPostgresUrl();
    const [a, b] = [await open(url), await open(url)];
    let heardByA = 0;
    let heardByB = 0;
    a.onRegisterChange(() => heardByA++);
    b.onRegisterChange(() => heardByB++);
    const port = (name: string, number: number) => ({
      service: 'payments', name, env: 'prod', protocol: 'tcp' as const, kind: 'static' as const, number, owner: 'team-payments', dependencies: [],
      state: 'active' as const, createdAt: 1, createdBy: 'test', approvedAt: 1, approvedBy: 'policy', rejectedAt: null, rejectedBy: null,
      releasedAt: null, releasedBy: null, reason: null, transition: null, previousNumbers: [], pendingLicense: null,
    });
    let next = 20_000;
    await waitFor(async () => {
      // a listener is up once a probe write is heard
      await a.transaction((tx) => tx.ports.insert(port(`probe-${next}`, next++)));
      return heardByB > 0;
    }, { what: 'the listener' });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
    await settle();
    heardByB = 0;

    await expect(a.transaction(async (tx) => {
      await tx.ports.insert(port('rolled-back', 21_000));
      throw new Error('boom');
    })).rejects.toThrow('boom');
    await settle();
    expect(heardByB).toBe(0);
    const row = await a.transaction((tx) => tx.ports.insert(port('api', 21_001)));
    await waitFor(() => heardByB === 1, { what: 'the insert' });
    await a.transaction((tx) => tx.ports.update({ ...row, state: 'released', releasedAt: 2, releasedBy: 'test' }));
    await waitFor(() => heardByB === 2, { what: 'the update' });
    expect(heardByA).toBe(0);

    const admin = new Client({ connectionString: url });
    await admin.connect();
    onTestFinished(() => admin.end());
    const kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'portwarden-authority-listen' AND datname = current_database()";
    expect((await admin.query(kill)).rowCount).toBe(2);
    // whatever was written meanwhile, the re-connected listener says something may have changed
    await waitFor(() => heardByB >= 3, { what: 'the re-connect', timeoutMs: 10_000 });
  });

  withPostgres('runs exclusive work in one store at a time and skips the round in the others', async () => {
    const url = await freshPostgresUrl();
    const [a, b] = [await open(url), await open(url)];
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const first = a.exclusive('renewer', async () => {
      entered();
      await holding;
    });
    await inside;
    let ranInB = false;
    expect(await b.exclusive('renewer', async () => void (ranInB = true))).toBe(false);
    expect(await b.exclusive('drill-sweeper', async () => undefined)).toBe(true); // another name is free
    release();
    expect(await first).toBe(true);
    expect(ranInB).toBe(false);
    expect(await b.exclusive('renewer', async () => void (ranInB = true))).toBe(true);
    expect(ranInB).toBe(true);
    // a failing round lets go of the lock too
    await expect(a.exclusive('renewer', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await b.exclusive('renewer', async () => undefined)).toBe(true);
  });

  withPostgres('serialises writes across stores: concurrent bumps get distinct, gap-free indexes', async () => {
    const url = await freshPostgresUrl();
    const [a, b] = [await open(url), await open(url)];
    const indexes = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).transaction((tx) => tx.index.bump(`s${i % 3}`))));
    expect([...indexes].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
  });

  it('refuses an unreachable server naming storage.url, without the password', async () => {
    const port = await freePort();
    const url = `postgres://portwarden:s3cret-pass@127.0.0.1:${port}/portwarden`;
    const err = await PostgresStore.open({ url, connectTimeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unavailable' });
    const message = (err as Error).message;
    expect(message).toContain(`storage.url: cannot open PostgreSQL at postgres://portwarden@127.0.0.1:${port}/portwarden`);
    expect(message).toContain('ECONNREFUSED');
    expect(message).not.toContain('s3cret-pass');
  });

  it('refuses a URL that does not parse as config_invalid, without echoing it', async () => {
    await expect(PostgresStore.open({ url: 'postgres://user:pw@[::1' })).rejects.toMatchObject({ code: 'config_invalid', message: 'storage.url: not a valid postgres:// URL' });
    expect(redactedUrl('postgresql://u:p@db.internal:6432/pw?sslmode=require&password=p')).toBe('postgresql://u@db.internal:6432/pw?sslmode=require');
  });
});
