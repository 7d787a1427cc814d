import { describe, expect, it } from 'vitest';
import { ProxyHeaderParser, type ParseResult } from '../../../../../src/sidecar/identity/proxy-protocol/parse.ts';
import { encodeProxyV2Header } from '../../../../../src/sidecar/identity/proxy-protocol/encode.ts';

const signature = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header: command byte, family byte, address block and TLV bytes. */
function v2(command: number, family: number, body: Buffer): Buffer {
  const fixed = Buffer.alloc(4);
  fixed[0] = command;
  fixed[1] = family;
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([signature, fixed, body]);
}

function whole(bytes: Buffer): ParseResult {
  return new ProxyHeaderParser().push(bytes);
}

/** Feeds one byte at a time; every step before the last must ask for more. */
function byteByByte(bytes: Buffer): ParseResult {
  const parser = new ProxyHeaderParser();
  for (let i = 0; i < bytes.length - 1; i++) expect(parser.push(bytes.subarray(i, i + 1))).toEqual({ status: 'incomplete' });
  return parser.push(bytes.subarray(bytes.length - 1));
}

const ipv4Body = Buffer.from([10, 1, 2, 3, 192, 168, 0, 1, 0x30, 0x39, 0x20, 0xfb]); // 10.1.2.3:12345 -> 192.168.0.1:8443
const ipv6Body = Buffer.concat([
  Buffer.from('20010db8000000000000000000000001', 'hex'),
  Buffer.from('fd000000000000000000000000000002', 'hex'),
  Buffer.from([0x30, 0x39, 0x20, 0xfb]),
]);
const tlv = Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x01, 0xff]); // ALPN "h2", NOOP

describe('PROXY v1', () => {
  it('parses TCP4 and TCP6, whole or byte by byte, and keeps what follows', () => {
    const tcp4 = Buffer.from('PROXY TCP4 10.1.2.3 192.168.0.1 12345 8443\r\nGET / HTTP/1.1\r\n');
    const expected = {
      status: 'complete',
      header: { version: 1, command: 'proxy', source: { address: '10.1.2.3', port: 12345 }, destination: { address: '192.168.0.1', port: 8443 } },
      rest: Buffer.from('GET / HTTP/1.1\r\n'),
    };
    expect(whole(tcp4)).toEqual(expected);
    const header = tcp4.subarray(0, tcp4.indexOf('\n') + 1);
    expect(byteByByte(header)).toEqual({ ...expected, rest: Buffer.alloc(0) });
    expect(whole(Buffer.from('PROXY TCP6 2001:db8::1 ::1 1 65535\r\n'))).toMatchObject({
      header: { source: { address: '2001:db8::1', port: 1 }, destination: { address: '::1', port: 65535 } },
    });
  });

  it('writes a TCP6 address one way whatever way it was sent, an IPv4-mapped one as IPv4 (as v2 does)', () => {
    const parsed = whole(Buffer.from('PROXY TCP6 ::ffff:0a01:0203 2001:0db8:0:0::0001 1 2\r\n'));
    expect(parsed).toMatchObject({ status: 'complete', header: { source: { address: '10.1.2.3', port: 1 }, destination: { address: '2001:db8::1', port: 2 } } });
  });

  it('reads UNKNOWN as a local connection', () => {
    expect(whole(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nx'))).toEqual({
      status: 'complete',
      header: { version: 1, command: 'local' },
      rest: Buffer.from('x'),
    });
  });

  it.each([
    ['wrong family for the addresses', 'PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n'],
    ['port out of range', 'PROXY TCP4 10.0.0.1 10.0.0.2 65536 2\r\n'],
    ['a port with a sign', 'PROXY TCP4 10.0.0.1 10.0.0.2 +1 2\r\n'],
    ['too few fields', 'PROXY TCP4 10.0.0.1 10.0.0.2 1\r\n'],
    ['a double space', 'PROXY TCP4  10.0.0.1 10.0.0.2 1 2\r\n'],
    ['an unknown protocol', 'PROXY UDP4 10.0.0.1 10.0.0.2 1 2\r\n'],
    ['a bare LF', 'PROXY TCP4 10.0.0.1 10.0.0.2 1 2\n'],
  ])('refuses %s', (_, text) => {
    expect(whole(Buffer.from(text)).status).toBe('invalid');
  });

  it('refuses a line with no CRLF within 107 bytes', () => {
    expect(whole(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`))).toEqual({ status: 'invalid', reason: 'v1 header longer than 107 bytes' });
  });
});

describe('PROXY v2', () => {
  it('parses IPv4 and IPv6 PROXY headers, skipping TLVs, byte by byte', () => {
    const four = Buffer.concat([v2(0x21, 0x11, Buffer.concat([ipv4Body, tlv])), Buffer.from('hello')]);
    expect(whole(four)).toEqual({
      status: 'complete',
      header: { version: 2, command: 'proxy', source: { address: '10.1.2.3', port: 12345 }, destination: { address: '192.168.0.1', port: 8443 } },
      rest: Buffer.from('hello'),
    });
    const six = v2(0x21, 0x21, Buffer.concat([ipv6Body, tlv]));
    expect(byteByByte(six)).toEqual({
      status: 'complete',
      header: { version: 2, command: 'proxy', source: { address: '2001:db8::1', port: 12345 }, destination: { address: 'fd00::2', port: 8443 } },
      rest: Buffer.alloc(0),
    });
  });

  it('reads LOCAL as a local connection whatever its address block says', () => {
    expect(byteByByte(v2(0x20, 0x11, ipv4Body))).toEqual({ status: 'complete', header: { version: 2, command: 'local' }, rest: Buffer.alloc(0) });
    expect(whole(v2(0x20, 0x00, Buffer.alloc(0)))).toMatchObject({ header: { version: 2, command: 'local' } });
  });

  it('tells no address for UNSPEC and UNIX families', () => {
    expect(whole(v2(0x21, 0x00, Buffer.alloc(0)))).toMatchObject({ header: { version: 2, command: 'proxy' } });
    expect(whole(v2(0x21, 0x31, Buffer.alloc(216)))).toMatchObject({ header: { version: 2, command: 'proxy' } });
    expect((whole(v2(0x21, 0x31, Buffer.alloc(216))) as { header: object }).header).not.toHaveProperty('source');
  });

  it('reads an IPv4-mapped IPv6 source as IPv4', () => {
    const mapped = Buffer.concat([Buffer.from('00000000000000000000ffff0a010203', 'hex'), Buffer.alloc(16), Buffer.from([0, 1, 0, 2])]);
    expect(whole(v2(0x21, 0x21, mapped))).toMatchObject({ header: { source: { address: '10.1.2.3', port: 1 } } });
  });

  it.each([
    ['version 1 in the version nibble', v2(0x11, 0x11, ipv4Body)],
    ['an unknown command', v2(0x22, 0x11, ipv4Body)],
    ['UDP', v2(0x21, 0x12, ipv4Body)],
    ['a short IPv4 block', v2(0x21, 0x11, ipv4Body.subarray(0, 8))],
    ['a short IPv6 block', v2(0x21, 0x21, ipv6Body.subarray(0, 20))],
    ['an unknown family', v2(0x21, 0x41, ipv4Body)],
    ['a damaged signature', Buffer.concat([Buffer.from('0d0a0d0a000d0a5155495421', 'hex'), Buffer.alloc(4)])],
  ])('refuses %s', (_, bytes) => {
    expect(whole(bytes).status).toBe('invalid');
  });

  it('reads back what the upstream PROXY v2 writer sends', () => {
    const cases = [
      [{ address: '10.1.2.3', port: 5000 }, { address: '127.0.0.1', port: 8443 }],
      [{ address: '2001:db8::7', port: 5000 }, { address: '::1', port: 8443 }],
    ] as const;
    for (const [source, destination] of cases) {
      expect(whole(encodeProxyV2Header(source, destination))).toMatchObject({ status: 'complete', header: { command: 'proxy', source, destination } });
    }
    expect(whole(encodeProxyV2Header({ address: '', port: 0 }, { address: '', port: 0 }))).toMatchObject({ header: { command: 'local' } });
  });
});

describe('neither version', () => {
  it('refuses garbage at the first byte that cannot start a header', () => {
    expect(whole(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ status: 'invalid', reason: 'not a PROXY protocol header' });
    expect(whole(Buffer.from([0x16, 0x03, 0x01]))).toEqual({ status: 'invalid', reason: 'not a PROXY protocol header' });
    const parser = new ProxyHeaderParser();
    expect(parser.push(Buffer.from('PRO'))).toEqual({ status: 'incomplete' });
    expect(parser.push(Buffer.from('XX')).status).toBe('invalid');
  });
});
