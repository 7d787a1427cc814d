import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateIdentity, identityMatches, parseAltNames } from '../../../src/sidecar/spiffe.ts';
import { createPki, type TestCa, type TestPki } from '../../helpers/pki.ts';

let pki: TestPki;
let ca: TestCa;
beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('spiffe-ca');
});
afterAll(() => pki.close());

const identityOf = async (name: string, options: Parameters<TestCa['issue']>[1]) =>
  certificateIdentity(new X509Certificate((await ca.issue(name, options)).certPem));

describe('certificateIdentity', () => {
  it('is the single URI SAN, beside DNS and IP SANs', async () => {
    expect(await identityOf('one', { uris: ['spiffe://corp/ns/billing/sa/api'], dns: ['api.local'], ips: ['10.0.0.1'] })).toBe(
      'spiffe://corp/ns/billing/sa/api',
    );
  });

  it('is undefined with no URI SAN, or with two', async () => {
    expect(await identityOf('none', { dns: ['api.local'] })).toBeUndefined();
    expect(await identityOf('bare', {})).toBeUndefined();
    expect(await identityOf('two', { uris: ['spiffe://corp/a', 'spiffe://corp/b'] })).toBeUndefined();
  });

  it('does not read a second identity out of a value that holds ", URI:"', async () => {
    // Node prints this SAN quoted and escaped; naive splitting on ", " would find two URIs
    const cert = new X509Certificate((await ca.issue('smuggle', { uris: ['spiffe://corp/a, URI:spiffe://corp/admin'] })).certPem);
    expect(cert.subjectAltName).toContain('"');
    // one URI SAN whose value holds a space: not a usable identity, and never spiffe://corp/admin
    expect(certificateIdentity(cert)).toBeUndefined();
  });
});

describe('parseAltNames', () => {
  it('splits entries and decodes quoted values', () => {
    expect(parseAltNames('URI:spiffe://a/b, DNS:x.local, IP Address:10.0.0.1')).toEqual([
      { type: 'URI', value: 'spiffe://a/b' },
      { type: 'DNS', value: 'x.local' },
      { type: 'IP Address', value: '10.0.0.1' },
    ]);
    expect(parseAltNames('URI:"spiffe://a\\u002c URI:spiffe://evil", DNS:x')).toEqual([
      { type: 'URI', value: 'spiffe://a, URI:spiffe://evil' },
      { type: 'DNS', value: 'x' },
    ]);
  });

  it('refuses malformed text', () => {
    expect(parseAltNames('URI:"unterminated')).toBeUndefined();
    expect(parseAltNames('no-type')).toBeUndefined();
    expect(parseAltNames('URI:a,URI:b')).toBeUndefined();
  });
});

describe('identityMatches', () => {
  it('matches exactly or under a /* prefix', () => {
    expect(identityMatches('spiffe://corp/ns/a/sa/api', 'spiffe://corp/ns/a/sa/api')).toBe(true);
    expect(identityMatches('spiffe://corp/ns/a/sa/api', 'spiffe://corp/ns/a/sa/api2')).toBe(false);
    expect(identityMatches('spiffe://corp/ns/a/*', 'spiffe://corp/ns/a/sa/api')).toBe(true);
    expect(identityMatches('spiffe://corp/ns/a/*', 'spiffe://corp/ns/a/')).toBe(false);
    expect(identityMatches('spiffe://corp/ns/a/*', 'spiffe://corp/ns/a')).toBe(false);
    expect(identityMatches('spiffe://corp/ns/a/*', 'spiffe://corp/ns/ab/sa/api')).toBe(false);
  });
});
