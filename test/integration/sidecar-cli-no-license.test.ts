import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { freePort } from '../helpers/ports.ts';
import { closedBy, connectTo, echo, startUpstream } from '../helpers/sidecar-harness.ts';
import { onePortBody, sidecarFiles, spawnSidecar, startedAt } from '../helpers/sidecar-cli.ts';
import { LOCAL_IDENTITY } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';

/** The value of one series (exactly these labels) in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (wanted.length === 0 ? !line.startsWith(`${name} `) : !line.startsWith(`${name}{`)) continue;
    const have = wanted.length === 0 ? [] : line.slice(name.length + 1, line.indexOf('}')).split(',');
    if (wanted.every((pair) => have.includes(pair)) && have.length === wanted.length) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

it('with no cache and no authority: stays up, refuses callers with no_license, not ready but alive, sync errors counted', async () => {
  let upstreamAccepted = 0;
  const upstream = await startUpstream((socket) => {
    upstreamAccepted++;
    echo(socket);
  });
  // nothing listens there
  const authorityUrl = `http://127.0.0.1:${await freePort()}`;
  const { dir, file } = await sidecarFiles({
    authorityUrl,
    token: 'pw.0000000000000000.not-a-real-token',
    telemetry: ['  report_interval: 1h'],
    body: onePortBody(upstream.address),
  });
  const cacheDir = join(dir, 'cache');
  await mkdir(cacheDir);

  const sidecar = spawnSidecar(file);
  const { address, admin } = await startedAt(sidecar);
  expect(sidecar.logs.some((line) => line.msg === 'no last-known-good licenses; waiting for the authority')).toBe(true);

  // a few failed rounds (backing off from 250ms), and the process is still the same one
  await waitFor(() => sidecar.logs.filter((line) => line.msg === 'authority sync failed').length >= 3, { timeoutMs: 10_000, what: 'three failed sync rounds' });
  expect(sidecar.child.exitCode).toBeNull();
  expect(sidecar.logs.find((line) => line.msg === 'authority sync failed')).toMatchObject({ level: 'warn', code: 'authority_unreachable', detail: expect.stringContaining('ECONNREFUSED') });

  // the port listens, and refuses: closed before a byte reaches the upstream
  const caller = await connectTo(address);
  const ended = closedBy(caller);
  caller.write('hello?');
  // an EOF, or a reset when the refused socket is closed with the caller's bytes unread; never data
  expect(['closed', 'ECONNRESET']).toContain(await ended);
  const refusal = await sidecar.waitForLog('access', { decision: 'deny' });
  expect(refusal).toMatchObject({ port: 'api', identity: LOCAL_IDENTITY, reason: 'no_license', bytesIn: 0, bytesOut: 0 });
  expect(upstreamAccepted).toBe(0);

  const livez = await fetch(`${admin}/livez`);
  expect(livez.status).toBe(200);
  const healthz = await fetch(`${admin}/healthz`);
  expect(healthz.status).toBe(200);
  const readyz = await fetch(`${admin}/readyz`);
  expect(readyz.status).toBe(503);
  expect(await readyz.json()).toMatchObject({ ready: false, reason: 'no license admits on api', ports: [{ name: 'api', health: 'missing' }] });
  const status = (await (await fetch(`${admin}/status`)).json()) as Record<string, unknown>;
  expect(status).toMatchObject({ state: 'running', ready: false, authorityReachable: false, ports: [{ name: 'api', accepting: true, license: { health: 'missing' } }] });
  expect(status.lastSync).toBeUndefined();

  const metrics = await (await fetch(`${admin}/metrics`)).text();
  expect(sample(metrics, 'portwarden_connections_total', { port: 'api', decision: 'deny', reason: 'no_license' })).toBe(1);
  expect(sample(metrics, 'portwarden_connections_total', { port: 'api', decision: 'allow', reason: '' })).toBe(0);
  expect(sample(metrics, 'portwarden_authority_sync_total', { result: 'error' })).toBeGreaterThanOrEqual(3);
  expect(sample(metrics, 'portwarden_authority_sync_total', { result: 'changed' }) ?? 0).toBe(0);
  expect(sample(metrics, 'portwarden_authority_sync_total', { result: 'unchanged' }) ?? 0).toBe(0);
  expect(sample(metrics, 'portwarden_authority_last_sync_timestamp_seconds')).toBe(0);
  expect(sample(metrics, 'portwarden_license_valid', { port: 'api' })).toBe(0);
  expect(sample(metrics, 'portwarden_license_health', { port: 'api', state: 'missing' })).toBe(1);
  expect(sample(metrics, 'portwarden_license_health', { port: 'api', state: 'ok' })).toBe(0);

  sidecar.child.kill('SIGTERM');
  expect(await sidecar.exited).toBe(0);
  // nothing was ever verified, so nothing was cached
  expect(await readdir(cacheDir)).toEqual([]);
});
