import { describe, expect, it } from 'vitest';
import { encodeProxyV2Header } from '../../../../../src/sidecar/identity/proxy-protocol/encode.ts';

const signature = '0d0a0d0a000d0a515549540a';

describe('encodeProxyV2Header', () => {
  it('encodes a TCP/IPv4 connection', () => {
    const header = encodeProxyV2Header({ address: '10.1.2.3', port: 40000 }, { address: '127.0.0.1', port: 8443 });
    expect(header.toString('hex')).toBe(`${signature}2111000c0a010203` + '7f000001' + '9c40' + '20fb');
  });

  it('reads IPv4-mapped addresses as IPv4', () => {
    const header = encodeProxyV2Header({ address: '::ffff:10.1.2.3', port: 1 }, { address: '::ffff:127.0.0.1', port: 2 });
    expect(header[13]).toBe(0x11);
    expect(header.length).toBe(28);
  });

  it('encodes TCP/IPv6, compressed forms included, and mixed families as IPv6', () => {
    const header = encodeProxyV2Header({ address: 'fd00::1', port: 1 }, { address: '::1', port: 2 });
    expect(header.toString('hex')).toBe(
      `${signature}21210024` + 'fd000000000000000000000000000001' + '00000000000000000000000000000001' + '0001' + '0002',
    );
    const mixed = encodeProxyV2Header({ address: '10.0.0.1', port: 1 }, { address: '2001:db8::5', port: 2 });
    expect(mixed.subarray(16, 32).toString('hex')).toBe('00000000000000000000ffff0a000001');
  });

  it('falls back to a LOCAL header when an address is unknown', () => {
    expect(encodeProxyV2Header({ address: '', port: 0 }, { address: '127.0.0.1', port: 1 }).toString('hex')).toBe(`${signature}20000000`);
  });
});
