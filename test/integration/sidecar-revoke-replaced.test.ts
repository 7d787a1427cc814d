import { connect, type Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import type { SidecarConfig } from '../../src/shared/config/sidecar-schema.ts';
import { createLogger } from '../../src/shared/logger.ts';
import type { AccessRecord } from '../../src/sidecar/proxy/access-record.ts';
import { SidecarRuntime } from '../../src/sidecar/runtime.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { runtimeConfig } from '../helpers/licensed-sidecar.ts';
import { FakeAuthority } from '../helpers/fake-authority.ts';
import { closedBy, echo, echoes, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { LOCAL_IDENTITY } from '../helpers/static-license-source.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';

/** Callers from 127.0.0.2 are this identity; the rest of loopback is `LOCAL_IDENTITY`. */
const NARROW_IDENTITY = 'spiffe://test.local/ns/default/sa/narrow';
const NARROW_ADDRESS = '127.0.0.2';
const minute = 60_000;
const hour = 3_600_000;

/**
 * A real Sidecar on a real LicenseSync against the fake authority, all on one manual clock.
 * The sweep runs every `sweepIntervalMs` (default: once a minute, so whatever closes a
 * connection sooner was the revocation itself, not the periodic pass).
 */
async function startSyncedSidecar(ports: { name: string; on_revoke: 'close' | 'drain' }[], sweepIntervalMs = minute) {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const authority = await FakeAuthority.start({ clock });
  onTestFinished(() => authority.close());
  const upstream = await startUpstream(echo);
  const config: SidecarConfig = testConfig(
    ports.map((port) => ({ ...port, upstream: upstream.address })),
    {
      identities: [
        { cidr: `${NARROW_ADDRESS}/32`, identity: NARROW_IDENTITY },
        { cidr: '127.0.0.0/8', identity: LOCAL_IDENTITY },
      ],
    },
  );
  const dir = await tempDir('portwarden-revoke-replaced-');
  const tokenFile = join(dir, 'sidecar.token');
  await writeFile(tokenFile, authority.sidecarToken('payments'), { mode: 0o600 });
  const records: AccessRecord[] = [];
  const runtime = await SidecarRuntime.start({
    config: runtimeConfig(config, { url: authority.url, issuer: authority.issuer, dir, tokenFile }),
    logger: createLogger({ level: 'silent' }),
    metrics: createSidecarMetrics(new Registry(), { processDefaults: false }),
    clock,
    onAccess: (record) => records.push(record),
    sweepIntervalMs,
  });
  onTestFinished(async () => void (await runtime.close({ deadlineMs: 0 })));
  const { sidecar, sync } = runtime;

  const address = (port: string) => {
    const [host = '', number = ''] = (sidecar.addresses.get(port) ?? '').split(/:(?=\d+$)/);
    return { host, port: Number(number) };
  };
  return {
    clock,
    authority,
    sync,
    records,
    /** Issues a license for `port` (any number: the test ports listen on ephemeral ones) and waits until it is in force. */
    async issue(port: string, options: { allow: string[]; ttlMs: number; inForce?: boolean }) {
      const issued = await authority.issue({ service: 'payments', port, number: 8443, allow: options.allow, ttlMs: options.ttlMs });
      if (options.inForce !== false) await waitFor(() => sync.get(port)?.claims.jti === issued.jti, { what: `${issued.lid} in force on ${port}` });
      return issued;
    },
    /** An open connection to `port` from `localAddress`, shown to flow. */
    async open(port: string, localAddress = '127.0.0.1'): Promise<Socket> {
      const socket = await connectFrom(address(port), localAddress);
      expect(await echoes(socket, 'hello')).toBe(true);
      return socket;
    },
    /** How a new connection to `port` from `localAddress` ends: admitted, or refused with its reason. */
    async attempt(port: string, localAddress = '127.0.0.1'): Promise<string> {
      const seen = records.length;
      const socket = await connectFrom(address(port), localAddress);
      const refused = waitFor(() => records.slice(seen).find((record) => record.port === port && record.decision === 'deny'), { what: 'a refusal', timeoutMs: 2_000 });
      const admitted = echoes(socket, 'hello').then((ok) => (ok ? 'admitted' : 'garbled'));
      const outcome = await Promise.race([admitted, refused.then((record) => `refused: ${String(record.reason)}`, () => 'neither admitted nor refused')]);
      socket.destroy();
      return outcome;
    },
    /** Runs the pass over open connections now (as a scrape does), then lets its cuts land. */
    async sweep() {
      sidecar.beforeScrape();
      await new Promise((resolve) => setImmediate(resolve));
    },
    async metric(name: string, labels: Record<string, string>) {
      sidecar.beforeScrape();
      const found = await runtime.metrics.registry.getSingleMetric(name)?.get();
      return found?.values.find((value) => Object.entries(labels).every(([key, want]) => String(value.labels[key]) === want))?.value;
    },
  };
}

/** `promise`'s value, or 'timed out' after `ms` (so a test that fails says how, instead of hanging). */
function within<T>(promise: Promise<T>, ms = 2_000): Promise<T | 'timed out'> {
  return Promise.race([promise, new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), ms).unref())]);
}

function connectFrom(address: { host: string; port: number }, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port, localAddress, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
    onTestFinished(() => void socket.destroy());
  });
}

// the usual way to narrow an allow list: issue the narrower license for the port, then revoke the old one
it.each([
  // the replacement expires later, so it takes the port's place before the revocation
  { replacement: 'in force before the revocation', ttlMs: 2 * hour },
  // the replacement expires sooner, so it takes the port's place in the same listing as the revocation
  { replacement: 'in force with the revocation', ttlMs: hour / 2 },
])('revoking a license replaced by a narrower one closes its open connections (on_revoke close) or lets them finish (drain): replacement $replacement', async ({ ttlMs }) => {
  const s = await startSyncedSidecar([
    { name: 'strict', on_revoke: 'close' },
    { name: 'gentle', on_revoke: 'drain' },
  ]);
  const both = [LOCAL_IDENTITY, NARROW_IDENTITY];
  const wide = { strict: await s.issue('strict', { allow: both, ttlMs: hour }), gentle: await s.issue('gentle', { allow: both, ttlMs: hour }) };
  const strict = await s.open('strict');
  const gentle = await s.open('gentle');
  const strictEnd = closedBy(strict);

  const inForce = ttlMs > hour;
  await s.issue('strict', { allow: [NARROW_IDENTITY], ttlMs, inForce });
  const narrow = await s.issue('gentle', { allow: [NARROW_IDENTITY], ttlMs, inForce });
  // a replacement alone touches no open connection
  expect(await echoes(strict, 'replaced, not revoked')).toBe(true);
  expect(await echoes(gentle, 'replaced, not revoked')).toBe(true);

  s.authority.revoke(wide.strict.lid);
  s.authority.revoke(wide.gentle.lid);
  await waitFor(() => s.sync.get('gentle')?.claims.jti === narrow.jti, { what: 'the narrow license in force' });
  expect(await within(strictEnd)).toBe('ECONNRESET');
  expect(await within(echoes(gentle, 'still open under drain'))).toBe(true);
  const cut = await waitFor(() => s.records.find((record) => record.port === 'strict' && record.decision === 'allow'), { what: 'the cut connection’s record' });
  expect(cut).toMatchObject({ lid: wide.strict.lid, closeReason: 'revoked' });
  expect(await s.metric('portwarden_connections_closed_total', { port: 'strict', reason: 'revoked' })).toBe(1);
  expect(await s.metric('portwarden_connections_closed_total', { port: 'gentle', reason: 'revoked' })).toBeUndefined();

  // new callers are decided by the narrow license
  for (const port of ['strict', 'gentle']) {
    expect(await s.attempt(port)).toBe('refused: identity_not_allowed');
    expect(await s.attempt(port, NARROW_ADDRESS)).toBe('admitted');
  }
  // the drained connection finishes as its caller decides
  gentle.end();
  expect(await within(closedBy(gentle))).toBe('closed');
  const finished = await waitFor(() => s.records.find((record) => record.port === 'gentle' && record.decision === 'allow'), { what: 'the drained connection’s record' });
  expect(finished).toMatchObject({ lid: wide.gentle.lid, closeReason: 'client' });
});

it('a license renewed while another license for the port is in force keeps its connections past the old token’s exp, until the renewal’s', async () => {
  const s = await startSyncedSidecar([{ name: 'strict', on_revoke: 'close' }], 20);
  const first = await s.issue('strict', { allow: [LOCAL_IDENTITY], ttlMs: minute });
  const conn = await s.open('strict');
  const end = closedBy(conn);
  // another license for the port, expiring later: it takes the port's place
  const other = await s.issue('strict', { allow: [LOCAL_IDENTITY, NARROW_IDENTITY], ttlMs: hour });

  s.clock.advance(30_000);
  const renewed = await s.authority.renew(first.lid, { ttlMs: minute }); // exp 90s after the first token's iat
  await waitFor(() => s.sync.byLid(first.lid)?.claims.jti === renewed.jti, { what: 'the renewal to reach the sidecar' });
  expect(s.sync.get('strict')?.claims.lid).toBe(other.lid); // the later-expiring license stays in force

  s.clock.advance(31_000); // past the first token's exp, not the renewal's
  await s.sweep();
  expect(await within(echoes(conn, 'renewed, so still open'))).toBe(true);

  s.clock.advance(30_000); // past the renewal's exp
  expect(await within(end)).toBe('ECONNRESET');
  const record = await waitFor(() => s.records.find((entry) => entry.decision === 'allow'), { what: 'the connection’s record' });
  expect(record).toMatchObject({ lid: first.lid, closeReason: 'expired', durationMs: 91_000 });
  expect(await s.metric('portwarden_connections_closed_total', { port: 'strict', reason: 'expired' })).toBe(1);
});
