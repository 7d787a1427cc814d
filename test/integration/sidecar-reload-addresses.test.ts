import { createServer } from 'node:net';
import { expect, it, onTestFinished } from 'vitest';
import { connectTo, echo, echoes, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { freePorts } from '../helpers/ports.ts';

it('listens on every address of a port, and a reload adds and drops addresses without touching the others’ connections', async () => {
  const upstream = await startUpstream(echo);
  const [a = 0, b = 0] = await freePorts(2);
  const at = (port: number) => ({ host: '127.0.0.1', port });
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address, listen: `127.0.0.1:${a}` }]));
  const onA = await connectTo(at(a));
  expect(await echoes(onA, 'before')).toBe(true);

  // the port gains a second number: the first keeps its listener and its open connection
  await h.sidecar.reload(testConfig([{ name: 'api', upstream: upstream.address, listen: [`127.0.0.1:${a}`, `127.0.0.1:${b}`] }]));
  expect(h.sidecar.listenAddresses.get('api')).toEqual([`127.0.0.1:${a}`, `127.0.0.1:${b}`]);
  expect(await echoes(onA, 'untouched by the reload')).toBe(true);
  const onB = await connectTo(at(b));
  expect(await echoes(onB, 'the new number serves')).toBe(true);
  expect(await echoes(await connectTo(at(a)), 'the old number still admits')).toBe(true);
  expect(h.logs.find((line) => line.msg === 'configuration reloaded')).toMatchObject({ readdressed: ['api'], changed: [] });

  const status = (await (await fetch(`${h.adminUrl()}/status`)).json()) as { ports: unknown[] };
  expect(status.ports).toEqual([
    expect.objectContaining({
      name: 'api',
      listen: `127.0.0.1:${a}`,
      accepting: true,
      license: expect.objectContaining({ health: 'ok' }),
      listens: [
        expect.objectContaining({ listen: `127.0.0.1:${a}`, accepting: true, license: expect.objectContaining({ health: 'ok' }) }),
        expect.objectContaining({ listen: `127.0.0.1:${b}`, accepting: true, activeConnections: 1 }),
      ],
    }),
  ]);

  // the first number is dropped: it stops accepting, its open connection drains, the second is untouched
  await h.sidecar.reload(testConfig([{ name: 'api', upstream: upstream.address, listen: `127.0.0.1:${b}` }]));
  await expect(connectTo(at(a))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  expect(await echoes(onA, 'a dropped address drains its open connections')).toBe(true);
  expect(await echoes(onB, 'untouched')).toBe(true);
  expect(h.sidecar.addresses.get('api')).toBe(`127.0.0.1:${b}`);
  expect(h.records).toEqual([]); // no connection was closed by the reloads
});

it('refuses a reload whose new address cannot bind, and keeps every address of the port serving', async () => {
  const upstream = await startUpstream(echo);
  const [a = 0, b = 0] = await freePorts(2);
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const busy = (taken.address() as { port: number }).port;
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address, listen: [`127.0.0.1:${a}`, `127.0.0.1:${b}`] }]));
  const onB = await connectTo({ host: '127.0.0.1', port: b });

  // drop a, add a number someone else holds: refused as a whole, a is serving again
  await expect(h.sidecar.reload(testConfig([{ name: 'api', upstream: upstream.address, listen: [`127.0.0.1:${b}`, `127.0.0.1:${busy}`] }]))).rejects.toMatchObject({
    code: 'listen_failed',
  });
  expect(await h.metric('portwarden_config_reloads_total', { result: 'refused' })).toBe(1);
  expect(h.sidecar.listenAddresses.get('api')).toEqual([`127.0.0.1:${a}`, `127.0.0.1:${b}`]);
  expect(await echoes(await connectTo({ host: '127.0.0.1', port: a }), 'a listens again')).toBe(true);
  expect(await echoes(onB, 'b was never touched')).toBe(true);
  expect(h.sidecar.config.ports[0]?.listens).toHaveLength(2);
});
