import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DerError, uriSans } from '../../src/sidecar/identity/tls/x509-san.ts';
import { fc, fuzz, mutatedBytes } from '../helpers/fuzz.ts';
import { createPki, type TestPki } from '../helpers/pki.ts';

/** One DER element, with the length in the short or the long form as needed. */
function tlv(tag: number, ...content: (Uint8Array | number[])[]): Buffer {
  const body = Buffer.concat(content.map((part) => Buffer.from(part)));
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}

/** A GeneralName the reader must skip, or a URI it must read. */
const generalName = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }).map((text) => ({ uri: text, der: tlv(0x86, Buffer.from(text, 'latin1')) })),
  fc.string({ maxLength: 30 }).map((text) => ({ uri: undefined, der: tlv(0x82, Buffer.from(text, 'latin1')) })), // dNSName
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((ip) => ({ uri: undefined, der: tlv(0x87, ip) })), // iPAddress
);
/** Another extension the reader must skip whole (basicConstraints, with or without `critical`). */
const otherExtension = fc.boolean().map((critical) => tlv(0x30, tlv(0x06, [0x55, 0x1d, 0x13]), ...(critical ? [tlv(0x01, [0xff])] : []), tlv(0x04, tlv(0x30))));

/** A certificate skeleton (the fields on the path to the extensions) with a SAN extension among others. */
const certificate = fc.tuple(fc.array(generalName, { maxLength: 6 }), fc.array(otherExtension, { maxLength: 2 }), fc.boolean()).map(([names, others, withSan]) => {
  const san = tlv(0x30, tlv(0x06, [0x55, 0x1d, 0x11]), tlv(0x04, tlv(0x30, ...names.map((name) => name.der))));
  const extensions = withSan ? [...others, san] : others;
  const tbs = tlv(0x30, tlv(0xa0, tlv(0x02, [2])), tlv(0x02, [1]), tlv(0x30), tlv(0xa3, tlv(0x30, ...extensions)));
  return { der: new Uint8Array(tlv(0x30, tbs, tlv(0x30), tlv(0x03, [0]))), uris: withSan ? names.flatMap((name) => (name.uri === undefined ? [] : [name.uri])) : [] };
});

/** The reader's outcome: the URIs, or the DerError (any other throw fails the property). */
function read(der: Uint8Array): string[] | DerError {
  try {
    return uriSans(der);
  } catch (err) {
    if (err instanceof DerError) return err;
    throw err;
  }
}

const isAscii = (text: string) => [...text].every((char) => char.charCodeAt(0) <= 0x7f);

let pki: TestPki;
let real: Uint8Array[] = [];
beforeAll(async () => {
  pki = await createPki();
  const ca = await pki.createCa('fuzz-ca');
  const issued = await Promise.all([
    ca.issue('a', { uris: ['spiffe://corp/ns/billing/sa/api'], dns: ['api.local'], ips: ['10.0.0.1'] }),
    ca.issue('b', { uris: ['spiffe://corp/a', 'spiffe://corp/b'] }),
    ca.issue('c', { dns: ['only.dns'] }),
  ]);
  real = issued.map((files) => new Uint8Array(new X509Certificate(files.certPem).raw));
});
afterAll(() => pki.close());

describe('the DER reader of URI SANs, fuzzed', () => {
  it('reads every URI SAN of a well-formed certificate, in order, and nothing else', () => {
    fuzz(3_000, certificate, ({ der, uris }) => {
      expect(read(der)).toEqual(uris);
    });
  });

  it('answers any bytes, and any damage to a certificate, with URIs or a DerError, never another throw', () => {
    fuzz(5_000, mutatedBytes(certificate.map((c) => c.der)), (der) => {
      const result = read(der);
      if (result instanceof DerError) expect(result.code).toBe('der_invalid');
      // what it reads is always text of printable-or-not ASCII, never beyond the buffer
      else for (const uri of result) expect(isAscii(uri)).toBe(true);
    });
  });

  it('answers damage to certificates openssl made the same way, and a cut one always with a DerError', () => {
    fuzz(3_000, fc.nat({ max: 2 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (which, at, value) => {
      const der = real[which]!;
      const flipped = Uint8Array.from(der);
      flipped[at % der.length] = value;
      const result = read(flipped);
      if (!(result instanceof DerError)) for (const uri of result) expect(isAscii(uri)).toBe(true);
      expect(read(der.subarray(0, at % der.length))).toBeInstanceOf(DerError);
    });
  });
});
