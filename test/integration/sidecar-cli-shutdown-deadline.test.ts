import { expect, it, onTestFinished } from 'vitest';
import { FakeAuthority } from '../helpers/fake-authority.ts';
import { closedBy, connectTo, echo, echoes, startUpstream } from '../helpers/sidecar-harness.ts';
import { onePortBody, sidecarFiles, spawnSidecar, startedAt, type SidecarProcess } from '../helpers/sidecar-cli.ts';
import { LOCAL_IDENTITY } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';

/** A licensed sidecar process in front of an echo upstream, with `shutdown_timeout`; resolves once ready. */
async function readySidecar(shutdownTimeout: string): Promise<{ sidecar: SidecarProcess; address: { host: string; port: number } }> {
  const authority = await FakeAuthority.start();
  onTestFinished(() => authority.close());
  await authority.issue({ service: 'payments', port: 'api', number: 8443, allow: [LOCAL_IDENTITY] });
  const upstream = await startUpstream(echo);
  const { file } = await sidecarFiles({
    authorityUrl: authority.url,
    token: authority.sidecarToken('payments'),
    telemetry: ['  report_interval: 1h'],
    body: onePortBody(upstream.address, [`shutdown_timeout: ${shutdownTimeout}`]),
  });
  const sidecar = spawnSidecar(file);
  const { address, admin } = await startedAt(sidecar);
  await waitFor(async () => (await fetch(`${admin}/readyz`)).status === 200, { timeoutMs: 15_000, what: 'a license' });
  return { sidecar, address };
}

it('cuts a connection still open at shutdown_timeout, logs it closed by shutdown, and exits 1', async () => {
  const { sidecar, address } = await readySidecar('300ms');
  const client = await connectTo(address);
  expect(await echoes(client, 'held')).toBe(true);
  const ended = closedBy(client);

  const signalled = Date.now();
  sidecar.child.kill('SIGTERM');
  await sidecar.waitForLog('stopped accepting; draining open connections', { open: 1, deadlineMs: 300 });
  // still forwarding while it drains
  expect(await echoes(client, 'draining')).toBe(true);

  // the caller never closes: the sidecar cuts it at the deadline, not before
  expect(['closed', 'ECONNRESET']).toContain(await ended);
  const cutAfter = Date.now() - signalled;
  expect(cutAfter).toBeGreaterThanOrEqual(250);
  expect(cutAfter).toBeLessThan(5_000);
  expect(await sidecar.exited).toBe(1);
  expect(sidecar.logs.find((line) => line.msg === 'shutdown deadline passed: closing the remaining connections')).toMatchObject({ cut: 1, deadlineMs: 300 });
  expect(sidecar.logs.find((line) => line.msg === 'stopped')).toMatchObject({ deadlineFired: true });
  const access = sidecar.logs.filter((line) => line.msg === 'access');
  expect(access).toHaveLength(1);
  expect(access[0]).toMatchObject({ decision: 'allow', closeReason: 'shutdown', bytesIn: 12, bytesOut: 12 });
});

it.each([
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const)('exits at once with %s while draining (code %i), without waiting for the deadline', async (second, code) => {
  const { sidecar, address } = await readySidecar('60s');
  const client = await connectTo(address);
  expect(await echoes(client, 'held')).toBe(true);
  const ended = closedBy(client);

  sidecar.child.kill('SIGTERM');
  await sidecar.waitForLog('stopped accepting; draining open connections', { open: 1 });
  const signalled = Date.now();
  sidecar.child.kill(second);
  expect(await sidecar.exited).toBe(code);
  expect(Date.now() - signalled).toBeLessThan(5_000);
  expect(sidecar.logs.some((line) => line.msg === 'stopped')).toBe(false);
  // the process is gone, so the held connection is gone with it
  expect(['closed', 'ECONNRESET']).toContain(await ended);
});
