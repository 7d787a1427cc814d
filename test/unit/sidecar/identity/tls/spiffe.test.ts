import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateIdentity, identityFromDer, identityMatches, isWorkloadSpiffeId } from '../../../../../src/sidecar/identity/tls/spiffe.ts';
import { uriSans } from '../../../../../src/sidecar/identity/tls/x509-san.ts';
import { createPki, type IssueOptions, type TestCa, type TestPki } from '../../../../helpers/pki.ts';

let pki: TestPki;
let ca: TestCa;
beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('spiffe-ca');
});
afterAll(() => pki.close());

const certOf = async (name: string, options: IssueOptions) => new X509Certificate((await ca.issue(name, options)).certPem);
const identityOf = async (name: string, options: IssueOptions) => certificateIdentity(await certOf(name, options));

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
    expect(certificateIdentity(undefined)).toBeUndefined();
  });

  it('is undefined when the single URI SAN is not a SPIFFE ID, or a SPIFFE ID of the wrong shape', async () => {
    const uris = [
      'https://corp/ns/billing/sa/api',
      'SPIFFE://corp/ns/billing/sa/api',
      'spiffe://Corp/ns/billing/sa/api',
      'spiffe://corp',
      'spiffe://corp:8443/ns/billing/sa/api',
      'spiffe://admin@corp/ns/billing/sa/api',
      'spiffe://corp/ns/billing/../admin',
      'spiffe://corp/ns/billing/sa/api?role=admin',
    ];
    const certs = await Promise.all(uris.map((uri, i) => certOf(`shape${i}`, { uris: [uri] })));
    // the certificates do carry these URIs: the refusal is the SPIFFE check, not a misread
    expect(certs.map((cert) => uriSans(cert.raw))).toEqual(uris.map((uri) => [uri]));
    expect(certs.map((cert) => certificateIdentity(cert))).toEqual(uris.map(() => undefined));
  });

  it('does not read a second identity out of a value that holds ", URI:"', async () => {
    // Node prints this SAN quoted and escaped; naive splitting of that text on ", " finds two URIs
    const cert = await certOf('smuggle', { uris: ['spiffe://corp/a, URI:spiffe://corp/admin'] });
    expect(uriSans(cert.raw)).toEqual(['spiffe://corp/a, URI:spiffe://corp/admin']);
    // one URI SAN whose value holds a comma and a space: not a SPIFFE ID, and never spiffe://corp/admin
    expect(certificateIdentity(cert)).toBeUndefined();
  });
});

describe('identityFromDer', () => {
  it('is the identity of the certificate DER, and undefined for truncated or garbage DER, without throwing', async () => {
    const der = (await certOf('der', { uris: ['spiffe://corp/ns/billing/sa/api'] })).raw;
    expect(identityFromDer(der)).toBe('spiffe://corp/ns/billing/sa/api');
    for (let length = 0; length < der.length; length++) expect(identityFromDer(der.subarray(0, length))).toBeUndefined();
    expect(identityFromDer(Buffer.from('not a certificate'))).toBeUndefined();
    expect(identityFromDer(Buffer.concat([der, Buffer.from([0])]))).toBeUndefined();
  });
});

describe('isWorkloadSpiffeId', () => {
  it('accepts spiffe://trust-domain/path with the allowed characters', () => {
    for (const id of ['spiffe://corp/a', 'spiffe://k8s-west.example_1.com/ns/Staging/sa/web-fe.v2_x', 'spiffe://corp/...', 'spiffe://corp/a/.b']) {
      expect(isWorkloadSpiffeId(id), id).toBe(true);
    }
  });

  it('refuses other schemes, bad trust domains, bad paths, queries, fragments and overlong IDs', () => {
    const bad = [
      '', 'spiffe:', 'spiffe://', 'https://corp/a', 'Spiffe://corp/a', 'spiffe:/corp/a', 'spiffe:///a',
      'spiffe://corp', 'spiffe://corp/', 'spiffe://corp/a/', 'spiffe://corp//a', 'spiffe://corp/./a', 'spiffe://corp/a/..',
      'spiffe://CORP/a', 'spiffe://user@corp/a', 'spiffe://corp:443/a', 'spiffe://[::1]/a', 'spiffe://co rp/a',
      'spiffe://corp/a?b', 'spiffe://corp/a#b', 'spiffe://corp/a%2Fb', 'spiffe://corp/a b', 'spiffe://corp/a\nb', 'spiffe://corp/é',
      `spiffe://${'t'.repeat(256)}/a`,
    ];
    for (const id of bad) expect(isWorkloadSpiffeId(id), JSON.stringify(id)).toBe(false);
  });

  it('allows 2048 bytes and no more', () => {
    const prefix = 'spiffe://corp/';
    expect(isWorkloadSpiffeId(prefix + 'a'.repeat(2048 - prefix.length))).toBe(true);
    expect(isWorkloadSpiffeId(prefix + 'a'.repeat(2049 - prefix.length))).toBe(false);
    expect(isWorkloadSpiffeId(`spiffe://${'t'.repeat(255)}/a`)).toBe(true);
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
