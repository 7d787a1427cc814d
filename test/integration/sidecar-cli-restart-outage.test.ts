import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { connectTo, echo, echoes, startUpstream } from '../helpers/sidecar-harness.ts';
import { onePortBody, sidecarFiles, spawnSidecar, startedAt } from '../helpers/sidecar-cli.ts';
import { LOCAL_IDENTITY } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';
import { spawnAuthority } from '../helpers/authority-process.ts';

/** Calls the authority's API as admin; resolves to the JSON answer, failing on an error status. */
async function api(url: string, adminToken: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

it('restarted during an authority outage, admits end to end on the cached license and reports the port degraded', async () => {
  // a real authority process, driven through its HTTP API
  const authority = await spawnAuthority();
  const { url, adminToken } = authority;
  const { token } = (await api(url, adminToken, '/v1/tokens', { role: 'sidecar', service: 'payments' })) as { token: string };
  const issued = await api(url, adminToken, '/v1/licenses', {
    service: 'payments',
    port_name: 'api',
    port: { number: 8443, protocol: 'tcp' },
    allow: [LOCAL_IDENTITY],
    ttl: '1h',
  });
  const lid = String(issued.lid);
  expect(lid).toMatch(/^lic_/);

  let upstreamAccepted = 0;
  const upstream = await startUpstream((socket) => {
    upstreamAccepted++;
    echo(socket);
  });
  const { dir: sidecarDir, file } = await sidecarFiles({
    authorityUrl: url,
    token,
    telemetry: ['  report_interval: 1h'],
    body: onePortBody(upstream.address, ['shutdown_timeout: 2s']),
  });
  const cacheFile = join(sidecarDir, 'cache', 'licenses-payments.json');

  // first run: the license arrives from the authority and is written to cache_dir
  const first = spawnSidecar(file);
  const firstAt = await startedAt(first);
  await waitFor(async () => (await fetch(`${firstAt.admin}/readyz`)).status === 200, { timeoutMs: 15_000, what: 'the license to arrive' });
  await waitFor(async () => (await readFile(cacheFile, 'utf8').catch(() => '')).includes(lid), { what: 'last-known-good to be written' });
  expect((await stat(cacheFile)).mode & 0o777).toBe(0o600);

  // the authority goes away; then the sidecar is stopped and started again while it is down
  authority.child.kill('SIGKILL');
  await authority.exited;
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);

  const second = spawnSidecar(file);
  const secondAt = await startedAt(second);
  expect(second.logs.find((line) => line.msg === 'loaded last-known-good licenses')).toMatchObject({ ports: ['api'] });
  await second.waitForLog('authority sync failed');

  // a caller gets through end to end on the cached license
  const caller = await connectTo(secondAt.address);
  expect(await echoes(caller, 'through the outage')).toBe(true);
  expect(upstreamAccepted).toBe(1);
  caller.end();
  expect(await second.waitForLog('access')).toMatchObject({ decision: 'allow', lid, identity: LOCAL_IDENTITY, bytesIn: 18, bytesOut: 18 });

  expect((await fetch(`${secondAt.admin}/readyz`)).status).toBe(200);
  const status = (await (await fetch(`${secondAt.admin}/status`)).json()) as Record<string, unknown>;
  expect(status).toMatchObject({
    ready: true,
    authorityReachable: false,
    ports: [{ name: 'api', license: { health: 'degraded', lid, problem: expect.stringContaining('authority unreachable') } }],
  });
  expect(status.lastSync).toBeUndefined();

  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
});
