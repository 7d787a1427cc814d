import { connect, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { ProxyHeaderParser } from '../../src/sidecar/identity/proxy-protocol/parse.ts';
import { closedBy, readAll, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { testLicense } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';

const billing = 'spiffe://corp/ns/billing/sa/api';

/** An upstream that reads the PROXY v2 header the sidecar sends, answers with the origin it names, then echoes. */
function originEcho(socket: Socket): void {
  const parser = new ProxyHeaderParser();
  const onData = (chunk: Buffer): void => {
    const step = parser.push(chunk);
    if (step.status === 'incomplete') return;
    socket.off('data', onData);
    if (step.status === 'invalid') return void socket.destroy();
    const source = step.header.source;
    socket.write(`origin ${source ? `${source.address}:${source.port}` : 'local'}\n`);
    socket.write(step.rest);
    socket.pipe(socket);
  };
  socket.on('data', onData);
}

function webConfig(upstream: string, trusted: string[], identity = billing) {
  return testConfig(
    [{ name: 'web', upstream, identity: { mode: 'proxy-protocol', trusted_proxies: trusted }, upstream_proxy_protocol: 'v2' }],
    { identities: [{ cidr: '10.1.0.0/16', identity }] },
  );
}

async function proxyProtocolSidecar(trusted: string[]) {
  const upstream = await startUpstream(originEcho);
  const h = await startSidecar(webConfig(upstream.address, trusted), { licensed: false });
  h.source.set('web', testLicense({ port: 'web', allow: [billing] }));
  return Object.assign(h, { upstreamAddress: upstream.address });
}

/** Connects as a load balancer would, writing `chunks` one segment at a time. */
async function fromBalancer(h: Awaited<ReturnType<typeof proxyProtocolSidecar>>, chunks: Buffer[]): Promise<Socket> {
  const socket = connect({ ...h.address('web'), noDelay: true, allowHalfOpen: true });
  await new Promise((resolve) => socket.once('connect', resolve));
  for (const chunk of chunks) {
    socket.write(chunk);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return socket;
}

it('licenses the origin a trusted PROXY header names, byte by byte, and passes it on to the upstream as PROXY v2', async () => {
  const h = await proxyProtocolSidecar(['127.0.0.0/8']);
  const header = Buffer.from('PROXY TCP4 10.1.2.3 192.0.2.10 40001 443\r\n');
  const socket = await fromBalancer(h, [...header].map((byte) => Buffer.from([byte])));
  socket.end('hello');
  const { data } = await readAll(socket);
  expect(data.toString()).toBe('origin 10.1.2.3:40001\nhello');
  await waitFor(() => h.records.length === 1);
  expect(h.records[0]).toMatchObject({ decision: 'allow', identity: billing, origin: '10.1.2.3:40001', originAddress: '10.1.2.3', bytesIn: 5 });
});

it('refuses an origin without a licensed identity, a malformed header and an untrusted proxy, each counted', async () => {
  const h = await proxyProtocolSidecar(['127.0.0.0/8']);
  const unknown = await fromBalancer(h, [Buffer.from('PROXY TCP4 192.0.2.99 192.0.2.10 40002 443\r\nhello')]);
  expect(await closedBy(unknown)).toBe('closed');
  const garbage = await fromBalancer(h, [Buffer.from('GET / HTTP/1.1\r\n\r\n')]);
  expect(await closedBy(garbage)).not.toBe('data');
  await waitFor(async () => (await h.metric('portwarden_handshake_failures_total', { port: 'web', failure: 'proxy_header_invalid' })) === 1);
  expect(h.records).toMatchObject([{ decision: 'deny', reason: 'no_identity', origin: '192.0.2.99:40002' }]);

  const strict = await proxyProtocolSidecar(['10.0.0.0/8']);
  const untrusted = await fromBalancer(strict, [Buffer.from('PROXY TCP4 10.1.2.3 192.0.2.10 40001 443\r\nhello')]);
  expect(await closedBy(untrusted)).not.toBe('data');
  await waitFor(async () => (await strict.metric('portwarden_handshake_failures_total', { port: 'web', failure: 'proxy_untrusted_source' })) === 1);
  expect(strict.records).toEqual([]);
});

it('reads a reloaded identities table for new connections', async () => {
  const h = await proxyProtocolSidecar(['127.0.0.0/8']);
  await h.sidecar.reload(webConfig(h.upstreamAddress, ['127.0.0.0/8'], 'spiffe://corp/ns/other/sa/api'));
  const socket = await fromBalancer(h, [Buffer.from('PROXY TCP4 10.1.2.3 192.0.2.10 40001 443\r\nhello')]);
  expect(await closedBy(socket)).toBe('closed');
  await waitFor(() => h.records.length === 1);
  expect(h.records[0]).toMatchObject({ decision: 'deny', reason: 'identity_not_allowed', identity: 'spiffe://corp/ns/other/sa/api' });
});
