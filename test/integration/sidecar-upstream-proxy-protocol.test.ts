import { expect, it } from 'vitest';
import { connectTo, readAll, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';

it('tells the upstream the caller’s address in a PROXY v2 header before the first byte', async () => {
  const { promise: atUpstream, resolve } = Promise.withResolvers<Buffer>();
  const upstream = await startUpstream((socket) => void readAll(socket).then(({ data }) => resolve(data)));
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address, upstream_proxy_protocol: 'v2' }]));
  const client = await connectTo(h.address('api'));
  client.end('GET / HTTP/1.0\r\n\r\n');

  const data = await atUpstream;
  expect(data.subarray(0, 12).toString('hex')).toBe('0d0a0d0a000d0a515549540a');
  expect([data[12], data[13], data.readUInt16BE(14)]).toEqual([0x21, 0x11, 12]);
  expect([...data.subarray(16, 20)].join('.')).toBe('127.0.0.1');
  expect(data.readUInt16BE(24)).toBe(client.localPort);
  expect(data.readUInt16BE(26)).toBe(h.address('api').port);
  expect(data.subarray(28).toString()).toBe('GET / HTTP/1.0\r\n\r\n');
  // the header is not caller traffic
  await expect.poll(() => h.records[0]?.bytesIn).toBe(18);
});
