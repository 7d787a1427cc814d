import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DerError, uriSans } from '../../../../../src/sidecar/identity/tls/x509-san.ts';
import { createPki, type IssueOptions, type TestCa, type TestPki } from '../../../../helpers/pki.ts';

let pki: TestPki;
let ca: TestCa;
beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('san-ca');
});
afterAll(() => pki.close());

const derOf = async (name: string, options: IssueOptions) => new X509Certificate((await ca.issue(name, options)).certPem).raw;

/** One DER element; lengths in the short or the long form as needed. */
function tlv(tag: number, ...content: (Buffer | number[])[]): Buffer {
  const body = Buffer.concat(content.map((part) => Buffer.from(part)));
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}
const sanOid = tlv(0x06, [0x55, 0x1d, 0x11]);
const uri = (text: string) => tlv(0x86, Buffer.from(text, 'latin1'));
const sanExtension = (...names: Buffer[]) => tlv(0x30, sanOid, tlv(0x04, tlv(0x30, ...names)));
/** A skeleton certificate: only the fields on the path to the extensions, which is all the reader looks at. */
const certificate = (...extensions: Buffer[]) =>
  tlv(0x30, tlv(0x30, tlv(0xa0, tlv(0x02, [2])), tlv(0x02, [1]), tlv(0xa3, tlv(0x30, ...extensions))), tlv(0x30), tlv(0x03, [0]));

function derError(der: Uint8Array): unknown {
  try {
    uriSans(der);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('uriSans on certificates made with openssl', () => {
  it('reads the URI SANs in order, and none beside DNS and IP SANs', async () => {
    const [mixed, dnsOnly, bare] = await Promise.all([
      derOf('mixed', { uris: ['spiffe://corp/a', 'https://corp.example/x?y=1'], dns: ['api.local'], ips: ['10.0.0.1'] }),
      derOf('dnsonly', { dns: ['api.local'] }),
      derOf('bare', {}),
    ]);
    expect(uriSans(mixed)).toEqual(['spiffe://corp/a', 'https://corp.example/x?y=1']);
    expect(uriSans(dnsOnly)).toEqual([]);
    expect(uriSans(bare)).toEqual([]);
  });

  it('reads a value holding ", URI:" as the one URI it is', async () => {
    expect(uriSans(await derOf('smuggle', { uris: ['spiffe://corp/a, URI:spiffe://corp/admin'] }))).toEqual(['spiffe://corp/a, URI:spiffe://corp/admin']);
  });

  it('throws a DerError for every truncation, and only DerErrors for corrupted bytes', async () => {
    const der = await derOf('fuzz', { uris: ['spiffe://corp/ns/billing/sa/api'], dns: ['api.local'] });
    for (let length = 0; length < der.length; length++) {
      expect(derError(der.subarray(0, length)), `truncated to ${length}`).toMatchObject({ code: 'der_invalid' });
    }
    for (let at = 0; at < der.length; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const corrupt = Buffer.from(der);
        corrupt[at] = (corrupt[at] ?? 0) ^ mask;
        const err = derError(corrupt);
        if (err !== undefined) expect(err, `byte ${at} ^ ${mask}`).toBeInstanceOf(DerError);
      }
    }
  });
});

describe('uriSans on hand-made DER', () => {
  it('reads a skeleton certificate, and a critical SAN extension', () => {
    expect(uriSans(certificate(sanExtension(uri('spiffe://corp/a'), tlv(0x82, Buffer.from('x')))))).toEqual(['spiffe://corp/a']);
    const critical = tlv(0x30, sanOid, tlv(0x01, [0xff]), tlv(0x04, tlv(0x30, uri('spiffe://corp/b'))));
    expect(uriSans(certificate(tlv(0x30, tlv(0x06, [0x55, 0x1d, 0x13]), tlv(0x04, tlv(0x30))), critical))).toEqual(['spiffe://corp/b']);
  });

  it('refuses malformed structure with a DerError', () => {
    const cases: Record<string, Buffer> = {
      empty: Buffer.alloc(0),
      'not a sequence': tlv(0x31, tlv(0x30)),
      'trailing bytes': Buffer.concat([certificate(sanExtension(uri('spiffe://corp/a'))), Buffer.from([0])]),
      'indefinite length': Buffer.from([0x30, 0x80, 0x00, 0x00]),
      'five length bytes': Buffer.from([0x30, 0x85, 0, 0, 0, 0, 1, 0]),
      'length past the end': Buffer.from([0x30, 0x82, 0xff, 0xff, 0x30, 0x00]),
      'multi-byte tag': certificate(tlv(0x30, sanOid, tlv(0x04, tlv(0x30, Buffer.from([0x9f, 0x20, 0x00]))))),
      'two SAN extensions': certificate(sanExtension(uri('spiffe://corp/a')), sanExtension(uri('spiffe://corp/admin'))),
      'constructed URI': certificate(sanExtension(tlv(0xa6, uri('spiffe://corp/a')))),
      'non-ASCII URI': certificate(sanExtension(tlv(0x86, Buffer.from('spiffe://corp/\u00e9', 'latin1')))),
      'SAN value is not an octet string': certificate(tlv(0x30, sanOid, tlv(0x30, uri('spiffe://corp/a')))),
      'SAN value with bytes after the names': certificate(tlv(0x30, sanOid, tlv(0x04, tlv(0x30, uri('spiffe://corp/a')), [0]))),
      'extension with an extra field': certificate(tlv(0x30, sanOid, tlv(0x01, [0]), tlv(0x04, tlv(0x30)), tlv(0x05))),
      'child running past its parent': certificate(tlv(0x30, sanOid, tlv(0x04, Buffer.from([0x30, 0x05, 0x86, 0x01])))),
    };
    for (const [name, der] of Object.entries(cases)) expect(derError(der), name).toBeInstanceOf(DerError);
  });
});
