import { connect, createServer, isIP, SocketAddress } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { InboundResult } from '../../src/sidecar/identity/identity.ts';
import { ProxyHeaderParser, type ParseResult } from '../../src/sidecar/identity/proxy-protocol/parse.ts';
import { ProxyProtocolIdentityResolver } from '../../src/sidecar/identity/proxy-protocol/resolver.ts';
import { fc, fuzz, fuzzAsync, mutatedBytes } from '../helpers/fuzz.ts';

const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const port = fc.integer({ min: 0, max: 65_535 });

/** A well-formed v1 header and the source it names. */
const v1Header = fc.oneof(
  fc.tuple(fc.ipV4(), fc.ipV4(), port, port).map(([src, dst, sport, dport]) => ({ bytes: Buffer.from(`PROXY TCP4 ${src} ${dst} ${sport} ${dport}\r\n`), source: { address: src, port: sport } })),
  fc.tuple(fc.ipV6(), fc.ipV6(), port, port).map(([src, dst, sport, dport]) => ({ bytes: Buffer.from(`PROXY TCP6 ${src} ${dst} ${sport} ${dport}\r\n`), source: { address: canonical(src), port: sport } })),
  fc.string({ maxLength: 40 }).filter((tail) => !/[\r\n]/.test(tail)).map((tail) => ({ bytes: Buffer.from(`PROXY UNKNOWN${tail ? ` ${tail}` : ''}\r\n`, 'latin1'), source: undefined })),
);

/** A well-formed v2 header (with TLVs the parser skips) and the source it names. */
const v2Header = fc.oneof(
  fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), port, port, fc.uint8Array({ maxLength: 64 })).map(([src, dst, sport, dport, tlvs]) => {
    const body = Buffer.concat([Buffer.from(src), Buffer.from(dst), u16(sport), u16(dport), Buffer.from(tlvs)]);
    return { bytes: Buffer.concat([signature, Buffer.from([0x21, 0x11]), u16(body.length), body]), source: { address: [...src].join('.'), port: sport } };
  }),
  fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), port, port, fc.uint8Array({ maxLength: 64 })).map(([src, dst, sport, dport, tlvs]) => {
    const body = Buffer.concat([Buffer.from(src), Buffer.from(dst), u16(sport), u16(dport), Buffer.from(tlvs)]);
    return { bytes: Buffer.concat([signature, Buffer.from([0x21, 0x21]), u16(body.length), body]), source: { address: canonical(ipv6Text(src)), port: sport } };
  }),
  // LOCAL: addresses and TLVs are skipped, whatever they hold
  fc.uint8Array({ maxLength: 64 }).map((rest) => ({ bytes: Buffer.concat([signature, Buffer.from([0x20, 0x11]), u16(rest.length), Buffer.from(rest)]), source: undefined })),
);

const anyHeader = fc.oneof(v1Header, v2Header);
/** Where a buffer is cut into chunks, as TCP may deliver it. */
const cuts = fc.array(fc.nat(), { maxLength: 6 });

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

function ipv6Text(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** How the parser writes an address: canonical IPv6, IPv4-mapped ones as IPv4. */
function canonical(address: string): string {
  const text = new SocketAddress({ address, family: 'ipv6' }).address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  return mapped?.[1] ?? text;
}

function chunked(bytes: Uint8Array, at: number[]): Buffer[] {
  const points = [...new Set(at.map((n) => (bytes.length === 0 ? 0 : n % bytes.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    if (point <= from) continue;
    chunks.push(Buffer.from(bytes.subarray(from, point)));
    from = point;
  }
  chunks.push(Buffer.from(bytes.subarray(from)));
  return chunks;
}

/** Feeds the chunks until the parser decides. */
function parse(chunks: Buffer[]): ParseResult {
  const parser = new ProxyHeaderParser();
  let result: ParseResult = { status: 'incomplete' };
  for (const chunk of chunks) {
    result = parser.push(chunk);
    if (result.status !== 'incomplete') break;
  }
  return result;
}

describe('the PROXY v1/v2 parser, fuzzed', () => {
  it('never throws on any bytes, and decides the same however the bytes are chunked', () => {
    fuzz(4_000, mutatedBytes(anyHeader.map((h) => new Uint8Array(h.bytes))), cuts, (bytes, at) => {
      const whole = parse([Buffer.from(bytes)]);
      const pieces = parse(chunked(bytes, at));
      expect(pieces.status).toBe(whole.status);
      if (whole.status === 'complete' && pieces.status === 'complete') {
        expect(pieces.header).toEqual(whole.header);
        // the rest is what followed the header, never invented: all of it, or the part the
        // chunks had brought when the header completed
        expect(Buffer.from(bytes).subarray(bytes.length - whole.rest.length).equals(whole.rest)).toBe(true);
        expect(whole.rest.subarray(0, pieces.rest.length).equals(pieces.rest)).toBe(true);
      }
      if (whole.status === 'complete' && whole.header.source) {
        expect(isIP(whole.header.source.address)).not.toBe(0);
        expect(whole.header.source.port).toBeGreaterThanOrEqual(0);
        expect(whole.header.source.port).toBeLessThanOrEqual(65_535);
      }
      if (whole.status === 'invalid') expect(whole.reason).toMatch(/\S/);
    });
  });

  it('reads every well-formed header, in any chunks, as the source it names, and hands on the bytes after it', () => {
    fuzz(3_000, anyHeader, fc.uint8Array({ maxLength: 32 }), cuts, (header, payload, at) => {
      const all = Buffer.concat([header.bytes, Buffer.from(payload)]);
      const result = parse(chunked(all, at));
      expect(result.status).toBe('complete');
      if (result.status !== 'complete') return;
      expect(result.header.source).toEqual(header.source);
      // bytes after the header: the start of the payload, as far as the chunks had brought it
      expect(Buffer.from(payload).subarray(0, result.rest.length).equals(result.rest)).toBe(true);
      expect(parse([all]).status === 'complete' && (parse([all]) as { rest: Buffer }).rest.equals(Buffer.from(payload))).toBe(true);
    });
  });

  it('never names a source for bytes that are not a header', () => {
    fuzz(3_000, fc.uint8Array({ maxLength: 120 }).filter((bytes) => bytes.length === 0 || (bytes[0] !== 0x0d && bytes[0] !== 0x50)), (bytes) => {
      expect(parse([Buffer.from(bytes)]).status).not.toBe('complete');
    });
  });
});

describe('the proxy-protocol identity resolver on real sockets, fuzzed', () => {
  const identities: Record<string, string> = { '10.1.2.3': 'spiffe://corp/ns/billing/sa/api', '127.0.0.1': 'spiffe://corp/lb' };

  async function resolverServer(trustedProxies: string[]) {
    const resolver = new ProxyProtocolIdentityResolver({ trustedProxies, headerTimeoutMs: 2_000, lookup: (address) => identities[address] });
    const results: InboundResult[] = [];
    const server = createServer({ allowHalfOpen: true }, async (socket) => {
      const result = await resolver.resolve(socket);
      results.push(result);
      if (result.ok) result.stream.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(async () => {
      await resolver.close();
      await new Promise((resolve) => server.close(resolve));
    });
    const serverPort = (server.address() as { port: number }).port;
    /** Sends the bytes, ends, and resolves with the resolver's result for this connection. */
    const attempt = async (bytes: Uint8Array): Promise<InboundResult> => {
      const before = results.length;
      const socket = connect({ port: serverPort, host: '127.0.0.1', allowHalfOpen: true });
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.end(Buffer.from(bytes));
      for (const deadline = Date.now() + 3_000; results.length === before; ) {
        if (Date.now() > deadline) throw new Error('the resolver never decided');
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      socket.destroy();
      return results[before]!;
    };
    return attempt;
  }

  it('refuses every connection from outside trusted_proxies, whatever it sends', async () => {
    const attempt = await resolverServer(['10.0.0.0/8']);
    await fuzzAsync(150, 5_000, mutatedBytes(anyHeader.map((h) => new Uint8Array(h.bytes))), async (bytes) => {
      expect(await attempt(bytes)).toEqual({ ok: false, failure: 'proxy_untrusted_source' });
    });
  });

  it('from a trusted proxy, gives an identity only for a header that parses, and only the one its source maps to', async () => {
    const attempt = await resolverServer(['127.0.0.0/8']);
    await fuzzAsync(200, 5_000, mutatedBytes(anyHeader.map((h) => new Uint8Array(h.bytes))), async (bytes) => {
      const result = await attempt(bytes);
      const parsed = parse([Buffer.from(bytes)]);
      if (parsed.status !== 'complete') {
        expect(result.ok).toBe(false);
        return;
      }
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const origin = parsed.header.source ?? { address: '127.0.0.1' };
      expect(result.origin.address).toBe(origin.address);
      expect(result.identity).toBe(identities[origin.address]);
    });
  });
});
