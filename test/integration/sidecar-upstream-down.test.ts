import { createServer, type Server } from 'node:net';
import { expect, it } from 'vitest';
import { closedBy, connectTo, echo, readAll, startSidecar, testConfig } from '../helpers/sidecar-harness.ts';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function listen(port: number): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, echo);
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

async function roundTrip(sidecarPort: { host: string; port: number }): Promise<string> {
  const client = await connectTo(sidecarPort);
  const reply = readAll(client);
  client.end('ping');
  const { data, error } = await reply;
  return error?.code ?? (data.length > 0 ? data.toString() : 'closed');
}

it('closes the caller and counts the error when the upstream refuses', async () => {
  const port = await freePort();
  const h = await startSidecar(testConfig([{ name: 'api', upstream: `127.0.0.1:${port}` }]));
  const client = await connectTo(h.address('api'));

  expect(await closedBy(client)).toBe('closed');
  await expect.poll(() => h.metric('portwarden_upstream_errors_total', { port: 'api', code: 'ECONNREFUSED' })).toBe(1);
  expect(await h.metric('portwarden_connections_closed_total', { port: 'api', reason: 'upstream_error' })).toBe(1);
  expect(h.records[0]).toMatchObject({ decision: 'allow', closeReason: 'upstream_error' });
});

it('serves again as soon as a flapping upstream is back, and refuses cleanly while it is down', async () => {
  const port = await freePort();
  const h = await startSidecar(testConfig([{ name: 'api', upstream: `127.0.0.1:${port}` }]));
  const address = h.address('api');
  for (let round = 0; round < 3; round++) {
    expect(await roundTrip(address)).toBe('closed');
    const server = await listen(port);
    expect(await roundTrip(address)).toBe('ping');
    await new Promise((resolve) => server.close(resolve));
  }
  expect(await h.metric('portwarden_upstream_errors_total', { port: 'api', code: 'ECONNREFUSED' })).toBe(3);
  expect(await h.metric('portwarden_connections_active', { port: 'api' })).toBe(0);
});
