import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { InboundResult } from '../../../../../src/sidecar/identity/identity.ts';
import { ProxyProtocolIdentityResolver } from '../../../../../src/sidecar/identity/proxy-protocol/resolver.ts';
import { encodeProxyV2Header } from '../../../../../src/sidecar/identity/proxy-protocol/encode.ts';
import { waitFor } from '../../../../helpers/wait.ts';

const identities: Record<string, string> = {
  '10.1.2.3': 'spiffe://corp/ns/billing/sa/api',
  '2001:db8::7': 'spiffe://corp/ns/v6/sa/api',
  '127.0.0.1': 'spiffe://corp/ns/lb/sa/health',
};

interface Seen {
  result: InboundResult;
  /** `head` plus everything read from the stream afterwards, for admitted callers. */
  payload?: string;
}

/** A TCP server handing each socket to the resolver; admitted callers get their payload read to the end. */
async function startResolver(trustedProxies = ['127.0.0.0/8'], headerTimeoutMs = 2_000) {
  const resolver = new ProxyProtocolIdentityResolver({ trustedProxies, headerTimeoutMs, lookup: (address) => identities[address] });
  const seen: Seen[] = [];
  const accepted = { count: 0 };
  const server = createServer({ allowHalfOpen: true }, async (socket) => {
    accepted.count++;
    const result = await resolver.resolve(socket);
    const entry: Seen = { result };
    seen.push(entry);
    if (!result.ok) return;
    const chunks: Buffer[] = result.head ? [result.head] : [];
    result.stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    result.stream.on('end', () => {
      entry.payload = Buffer.concat(chunks).toString();
      result.stream.end('done');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  onTestFinished(async () => {
    await resolver.close();
    await new Promise((resolve) => server.close(resolve));
  });
  return { resolver, seen, port, accepted };
}

/** Sends `bytes` (one write per chunk, as separate TCP segments) then ends; resolves when the server closes. */
async function send(port: number, chunks: Buffer[], { end = true } = {}): Promise<string> {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true, allowHalfOpen: true });
  onTestFinished(() => void socket.destroy());
  const done = closed(socket);
  await new Promise((resolve) => socket.once('connect', resolve));
  for (const chunk of chunks) {
    socket.write(chunk);
    if (chunks.length > 1) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (end) socket.end();
  return done;
}

function closed(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', () => undefined);
  socket.once('end', () => socket.end());
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

const bytes = (buffer: Buffer) => [...buffer].map((byte) => Buffer.from([byte]));

describe('ProxyProtocolIdentityResolver', () => {
  it('takes origin and identity from a v1 header delivered byte by byte; bytes after it are forwarded', async () => {
    const { seen, port } = await startResolver();
    const header = Buffer.from('PROXY TCP4 10.1.2.3 192.168.0.1 40000 8443\r\n');
    expect(await send(port, [...bytes(header), Buffer.from('hello')])).toBe('done');
    expect(seen).toEqual([
      {
        result: expect.objectContaining({ ok: true, origin: { address: '10.1.2.3', port: 40000 }, identity: 'spiffe://corp/ns/billing/sa/api' }),
        payload: 'hello',
      },
    ]);
  });

  it('hands on the bytes that came in the same segment as the header as head', async () => {
    const { seen, port } = await startResolver();
    const header = encodeProxyV2Header({ address: '2001:db8::7', port: 5000 }, { address: '::1', port: 8443 });
    expect(await send(port, [Buffer.concat([header, Buffer.from('GET / HTTP/1.0\r\n\r\n')])])).toBe('done');
    expect(seen[0]?.result).toMatchObject({ ok: true, origin: { address: '2001:db8::7', port: 5000 }, identity: 'spiffe://corp/ns/v6/sa/api' });
    expect(seen[0]?.result.ok && seen[0].result.head?.toString()).toBe('GET / HTTP/1.0\r\n\r\n');
    expect(seen[0]?.payload).toBe('GET / HTTP/1.0\r\n\r\n');
  });

  it('takes a LOCAL header as the proxy itself: its own address, its own identity', async () => {
    const { seen, port } = await startResolver();
    expect(await send(port, [encodeProxyV2Header({ address: '', port: 0 }, { address: '', port: 0 })])).toBe('done');
    expect(seen[0]?.result).toMatchObject({ ok: true, origin: { address: '127.0.0.1' }, identity: 'spiffe://corp/ns/lb/sa/health' });
  });

  it('refuses a peer outside trusted_proxies without reading its header', async () => {
    const { seen, port } = await startResolver(['10.0.0.0/8']);
    await send(port, [Buffer.from('PROXY TCP4 10.1.2.3 192.168.0.1 40000 8443\r\n')]);
    expect(seen.map((entry) => entry.result)).toEqual([{ ok: false, failure: 'proxy_untrusted_source' }]);
  });

  it('refuses garbage at once, a caller that ends early, and a malformed header', async () => {
    const { seen, port } = await startResolver(['127.0.0.0/8'], 10_000);
    const started = Date.now();
    await send(port, [Buffer.from('GET / HTTP/1.1\r\n')], { end: false });
    await send(port, [Buffer.from('PROXY TCP4 10.1')]);
    await send(port, [Buffer.from('PROXY TCP4 10.1.2.3 ::1 1 2\r\n')], { end: false });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(seen.map((entry) => entry.result)).toEqual([
      { ok: false, failure: 'proxy_header_invalid', detail: 'not a PROXY protocol header' },
      { ok: false, failure: 'proxy_header_invalid', detail: 'ended before the header was complete' },
      { ok: false, failure: 'proxy_header_invalid', detail: 'v1 addresses are not TCP4 addresses' },
    ]);
  });

  it('times out a header that is too slow, even if bytes keep coming', async () => {
    const { seen, port } = await startResolver(['127.0.0.0/8'], 300);
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    const header = Buffer.from('PROXY TCP4 10.1.2.3 192.168.0.1 40000 8443\r\n');
    let sent = 0;
    const trickle = setInterval(() => sent < header.length && socket.write(header.subarray(sent, ++sent)), 50);
    onTestFinished(() => clearInterval(trickle));
    await closed(socket);
    expect(sent).toBeLessThan(header.length);
    expect(seen.map((entry) => entry.result)).toEqual([{ ok: false, failure: 'proxy_header_timeout' }]);
  });

  it('lets a caller already sending its header finish after close, and refuses new ones', async () => {
    const { resolver, seen, port, accepted } = await startResolver();
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const done = closed(socket);
    socket.write('PROXY TCP4 10.1.2.3 ');
    await waitFor(() => accepted.count === 1); // its header is being read
    await resolver.close();
    socket.end('192.168.0.1 40000 8443\r\nlate');
    expect(await done).toBe('done');
    expect(await send(port, [Buffer.from('PROXY TCP4 10.1.2.3 192.168.0.1 40000 8443\r\n')])).toBe('');
    expect(seen.map((entry) => entry.result.ok || entry.result.detail)).toEqual([true, 'closing']);
    expect(seen[0]?.payload).toBe('late');
  });
});
