import { readdir, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { AccessRecord } from '../../src/sidecar/proxy/access-record.ts';
import { AccessTelemetry } from '../../src/sidecar/telemetry/telemetry.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { issueBody, startTestAuthority, type TestAuthority } from '../helpers/authority.ts';
import { echo, startSidecar, startUpstream, testConfig, type SidecarHarness } from '../helpers/sidecar-harness.ts';
import { LOCAL_IDENTITY } from '../helpers/static-license-source.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';
import { capturedLogger } from '../unit/sidecar/telemetry/support.ts';

/** A port that was free a moment ago, so a restarted authority comes back where sidecars look for it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One connection through the sidecar from `from`: sends `bytes` bytes, reads the echo, closes. */
async function call(harness: SidecarHarness, from: string, bytes: number): Promise<void> {
  const { host, port } = harness.address('api');
  const socket: Socket = connect({ host, port, localAddress: from, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('end', () => {
      socket.end();
      resolve();
    });
    socket.end(Buffer.alloc(bytes, 0x61));
  });
  expect(Buffer.concat(chunks).length).toBe(bytes);
}

it('lands every connection in the authority exactly once through an authority outage and a sidecar restart', async () => {
  const dataDir = await tempDir('portwarden-authority-');
  const listen = `127.0.0.1:${await freePort()}`;
  // the sidecar cuts batches on the real clock: the authority's must agree, or they fall outside its window
  const clock = new ManualClock(Date.now());
  const startAuthority = () => startTestAuthority({ dataDir, clock, config: { listen } });
  let authority: TestAuthority = await startAuthority();
  const license = (await authority.api('POST', '/v1/licenses', { body: issueBody() })).body;
  const dir = await tempDir();
  const tokenFile = join(dir, 'sidecar.token');
  await writeFile(tokenFile, (await authority.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token, { mode: 0o600 });
  const upstream = await startUpstream(echo);
  const config = testConfig([{ name: 'api', upstream: upstream.address }], {
    authority: { url: authority.url, token_file: tokenFile },
    telemetry: { report_interval: '1h', spool_dir: join(dir, 'spool') },
  });
  const { logger } = capturedLogger();

  // what the proxy saw, connection by connection, across both sidecar processes
  const seen: AccessRecord[] = [];
  const startRun = async () => {
    const hook: { telemetry?: AccessTelemetry } = {};
    const harness = await startSidecar(config, {
      onAccess: (record) => {
        seen.push(record);
        hook.telemetry?.onAccess(record);
      },
    });
    const telemetry = new AccessTelemetry({ config, metrics: harness.metrics, logger, closeTimeoutMs: 500 });
    hook.telemetry = telemetry;
    await telemetry.start();
    return { harness, telemetry };
  };
  let sent = 0;
  const traffic = async (harness: SidecarHarness, from: string, n: number, bytes: number) => {
    for (let i = 0; i < n; i += 1) await call(harness, from, bytes);
    sent += n;
    await waitFor(() => seen.length === sent, { what: `${sent} access records` });
  };

  let run = await startRun();
  await traffic(run.harness, '127.0.0.1', 3, 100);
  await run.telemetry.flush();

  await authority.authority.close(); // down while connections keep flowing
  await traffic(run.harness, '127.0.0.1', 4, 1_000);
  await traffic(run.harness, '127.0.0.2', 2, 10);
  await run.telemetry.flush();
  await traffic(run.harness, '127.0.0.1', 1, 7);
  // the sidecar restarts: the proxy drains, then telemetry spools what it could not send
  await run.harness.sidecar.close({ deadlineMs: 1_000 });
  await run.telemetry.close();

  run = await startRun();
  await traffic(run.harness, '127.0.0.2', 2, 5);
  await run.telemetry.flush(); // still down: spooled behind the previous process's batches
  const spool = join(dir, 'spool');
  expect((await readdir(spool)).length).toBeGreaterThanOrEqual(3);

  authority = await startAuthority(); // back, on the same address and data
  await run.telemetry.flush();
  await run.telemetry.close();
  expect(await readdir(spool)).toEqual([]);

  const access = (await authority.api('GET', '/v1/access?service=payments&port=api')).body;
  const bytes = seen.reduce((sum, record) => sum + record.bytesIn, 0);
  expect(bytes).toBe(3 * 100 + 4 * 1_000 + 2 * 10 + 7 + 2 * 5);
  const lastUse = (records: AccessRecord[]) => new Date(Math.max(...records.map((r) => r.time + r.durationMs))).toISOString();
  expect(access.totals).toMatchObject({ count: sent, bytes_in: bytes, bytes_out: bytes, last_access_at: lastUse(seen), last_decision: 'allow', last_allowed_at: lastUse(seen) });
  const from = (origin: string) => seen.filter((record) => record.originAddress === origin);
  expect(access.callers.map((c: Record<string, unknown>) => [c.identity, c.origin, c.count, c.bytes_in, c.bytes_out, c.last_access_at]).sort()).toEqual(
    [
      [LOCAL_IDENTITY, '127.0.0.1', 8, 3 * 100 + 4 * 1_000 + 7, 3 * 100 + 4 * 1_000 + 7, lastUse(from('127.0.0.1'))],
      [LOCAL_IDENTITY, '127.0.0.2', 4, 30, 30, lastUse(from('127.0.0.2'))],
    ].sort(),
  );
  expect(seen).toHaveLength(12);

  // licenses show: the same callers, and the license counts as in use for the renewer
  const shown = (await authority.api('GET', `/v1/licenses/${license.lid}`)).body;
  expect(shown.access.map((c: { origin: string; count: number }) => [c.origin, c.count]).sort()).toEqual([
    ['127.0.0.1', 8],
    ['127.0.0.2', 4],
  ]);
  expect(shown.last_access_at).toBe(lastUse(seen));
});
