import { expect, it } from 'vitest';
import { connectTo, echo, echoes, readAll, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { waitFor } from '../helpers/wait.ts';
import { freePorts } from '../helpers/ports.ts';

it('refuses connections beyond max_connections, even a flood of them, while admitted ones keep working', async () => {
  const upstream = await startUpstream(echo);
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address, max_connections: 2 }]));
  const address = h.address('api');
  const first = await connectTo(address);
  const second = await connectTo(address);
  expect(await echoes(first, 'one')).toBe(true);
  expect(await echoes(second, 'two')).toBe(true);

  // a flood of callers beyond the cap: every one is closed before any upstream work
  const flood = await Promise.all(Array.from({ length: 200 }, () => connectTo(address).then((socket) => readAll(socket))));
  expect(flood.every(({ data }) => data.length === 0)).toBe(true);
  await waitFor(async () => (await h.metric('portwarden_connections_total', { port: 'api', decision: 'deny', reason: 'max_connections' })) === 200);
  expect(upstream.sockets.size).toBe(2);
  expect(await echoes(first, 'still one')).toBe(true);

  // a freed slot is usable again
  first.end();
  await readAll(first);
  await waitFor(async () => (await h.metric('portwarden_connections_active', { port: 'api' })) === 1);
  const third = await connectTo(address);
  expect(await echoes(third, 'three')).toBe(true);
  const denied = h.records.filter((record) => record.reason === 'max_connections');
  expect(denied[0]).toMatchObject({ decision: 'deny', port: 'api', originAddress: '127.0.0.1' });
});

it('holds max_connections per listen address, as documented: a port on two numbers takes the cap on each', async () => {
  const upstream = await startUpstream(echo);
  const [a = 0, b = 0] = await freePorts(2);
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address, max_connections: 1, listen: [`127.0.0.1:${a}`, `127.0.0.1:${b}`] }]));
  const onA = await connectTo({ host: '127.0.0.1', port: a });
  const onB = await connectTo({ host: '127.0.0.1', port: b });
  expect(await echoes(onA, 'a')).toBe(true);
  expect(await echoes(onB, 'b')).toBe(true);
  const beyond = await readAll(await connectTo({ host: '127.0.0.1', port: a }));
  expect(beyond.data.length).toBe(0);
  await waitFor(async () => (await h.metric('portwarden_connections_total', { port: 'api', decision: 'deny', reason: 'max_connections' })) === 1);
  expect(upstream.sockets.size).toBe(2);
});
