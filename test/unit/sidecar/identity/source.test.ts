import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SourceIdentityResolver } from '../../../../src/sidecar/identity/source.ts';

const resolver = new SourceIdentityResolver([
  { cidr: '10.1.2.0/24', identity: 'spiffe://corp/ns/billing/sa/batch' },
  { cidr: '10.1.0.0/16', identity: 'spiffe://corp/ns/billing/sa/api' },
  { cidr: 'fd00::/8', identity: 'spiffe://corp/ns/v6/sa/app' },
]);

const peer = (remoteAddress: string | undefined, remotePort = 40000) => ({ remoteAddress, remotePort }) as Socket;

describe('SourceIdentityResolver', () => {
  it('maps an origin to the first matching CIDR’s identity', () => {
    expect(resolver.lookup('10.1.2.7')).toBe('spiffe://corp/ns/billing/sa/batch');
    expect(resolver.lookup('10.1.9.7')).toBe('spiffe://corp/ns/billing/sa/api');
    expect(resolver.lookup('fd12::1')).toBe('spiffe://corp/ns/v6/sa/app');
  });

  it('gives no identity to an origin outside every CIDR', () => {
    expect(resolver.lookup('10.2.0.1')).toBeUndefined();
    expect(resolver.lookup('fe80::1')).toBeUndefined();
    expect(resolver.lookup('')).toBeUndefined();
  });

  it('reads an IPv4 caller on a dual-stack socket as IPv4, origin included', () => {
    expect(resolver.resolve(peer('::ffff:10.1.9.7', 51000))).toMatchObject({
      ok: true,
      identity: 'spiffe://corp/ns/billing/sa/api',
      origin: { address: '10.1.9.7', port: 51000 },
    });
  });

  it('answers synchronously, handing back the socket itself', () => {
    const socket = peer('10.1.2.7');
    const result = resolver.resolve(socket);
    expect(result).not.toBeInstanceOf(Promise);
    expect(result).toMatchObject({ ok: true, stream: socket });
  });
});
