import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it, onTestFinished } from 'vitest';
import { FakeAuthority } from '../helpers/fake-authority.ts';
import { connectTo, hashIncoming, startUpstream } from '../helpers/sidecar-harness.ts';
import { onePortBody, sidecarFiles, spawnSidecar, startedAt } from '../helpers/sidecar-cli.ts';
import { LOCAL_IDENTITY } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';

const size = 16 * 1024 * 1024;

/** Sends `size` random bytes in 512 KiB pieces with short pauses, so a transfer spans a while; resolves to its sha256. */
async function sendPaced(socket: Socket): Promise<string> {
  const hash = createHash('sha256');
  for (let sent = 0; sent < size; sent += 512 * 1024) {
    const chunk = randomBytes(512 * 1024);
    hash.update(chunk);
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
    await sleep(10);
  }
  socket.end();
  return hash.digest('hex');
}

it('drains large transfers on SIGTERM with every byte intact, refuses new callers, and exits 0', async () => {
  const authority = await FakeAuthority.start();
  onTestFinished(() => authority.close());
  await authority.issue({ service: 'payments', port: 'api', number: 8443, allow: [LOCAL_IDENTITY] });
  const upstreamSides: Promise<[{ hash: string }, string]>[] = [];
  const upstream = await startUpstream((socket) => void upstreamSides.push(Promise.all([hashIncoming(socket), sendPaced(socket)])));
  const { file } = await sidecarFiles({
    authorityUrl: authority.url,
    token: authority.sidecarToken('payments'),
    body: onePortBody(upstream.address, ['shutdown_timeout: 60s']),
  });

  const sidecar = spawnSidecar(file);
  const { address, admin } = await startedAt(sidecar);
  await waitFor(async () => (await fetch(`${admin}/readyz`)).status === 200, { timeoutMs: 15_000, what: 'a license' });

  const clients = await Promise.all([connectTo(address), connectTo(address)]);
  const transfers = clients.map((client) => Promise.all([hashIncoming(client), sendPaced(client)]));
  await waitFor(() => upstreamSides.length === 2);

  sidecar.child.kill('SIGTERM');
  await sidecar.waitForLog('stopped accepting; draining open connections', { open: 2 });
  await expect(connectTo(address)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

  const atClients = await Promise.all(transfers);
  const atUpstream = await Promise.all(upstreamSides);
  const sentByClients = atClients.map(([, sent]) => sent).sort();
  const receivedUpstream = atUpstream.map(([received]) => received.hash).sort();
  expect(receivedUpstream).toEqual(sentByClients);
  expect(atClients.map(([received]) => received.hash).sort()).toEqual(atUpstream.map(([, sent]) => sent).sort());
  expect(await sidecar.exited).toBe(0);
  expect(sidecar.logs.find((line) => line.msg === 'stopped')).toMatchObject({ deadlineFired: false });
  expect(sidecar.logs.filter((line) => line.msg === 'access' && line.decision === 'allow')).toHaveLength(2);
});
