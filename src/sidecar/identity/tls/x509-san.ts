// Reads the URI subjectAltNames of a certificate from its DER (RFC 5280 §4.1, §4.2.1.6). Node
// prints SANs only as display text (`X509Certificate.subjectAltName`), which is not meant to be
// parsed; this walks the encoding instead. It reads only the path certificate -> tbsCertificate
// -> extensions -> subjectAltName -> GeneralNames, one level at a time, and skips every other
// field by its length without looking inside.

/** DER that cannot be read as a certificate with well-formed extensions. */
export class DerError extends Error {
  readonly code = 'der_invalid';
  override readonly name = 'DerError';
}

/** One DER element: its tag byte and where its content starts and ends in the buffer. */
interface Element {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

const SEQUENCE = 0x30;
const OBJECT_IDENTIFIER = 0x06;
const BOOLEAN = 0x01;
const OCTET_STRING = 0x04;
const EXTENSIONS = 0xa3; // tbsCertificate's [3] EXPLICIT Extensions
const URI = 0x86; // GeneralName [6] IMPLICIT IA5String uniformResourceIdentifier
const URI_CONSTRUCTED = 0xa6; // the same as a BER constructed string: not DER
const SUBJECT_ALT_NAME = [0x55, 0x1d, 0x11]; // 2.5.29.17

/** The element at `offset`, which must end at or before `limit`. */
function element(der: Uint8Array, offset: number, limit: number): Element {
  if (offset + 2 > limit) throw new DerError(`truncated element at byte ${offset}`);
  const tag = der[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at byte ${offset}`);
  let length = der[offset + 1] ?? 0;
  let start = offset + 2;
  if (length & 0x80) {
    // long form; 0x80 alone is BER's indefinite length, and 4 bytes already allow 4 GiB
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > limit) throw new DerError(`bad length at byte ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] ?? 0);
    start += count;
  }
  if (start + length > limit) throw new DerError(`element at byte ${offset} runs past its container`);
  return { tag, start, end: start + length };
}

/** The element inside `parent` (or the rest of the buffer) that must fill it exactly. */
function only(der: Uint8Array, parent: Element, tag: number): Element {
  const child = element(der, parent.start, parent.end);
  if (child.tag !== tag || child.end !== parent.end) throw new DerError(`expected one element of tag 0x${tag.toString(16)}`);
  return child;
}

/** The elements directly inside `parent`, which must fill it exactly. */
function children(der: Uint8Array, parent: Element): Element[] {
  const list: Element[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = element(der, offset, parent.end);
    list.push(child);
    offset = child.end;
  }
  return list;
}

function isSubjectAltName(der: Uint8Array, oid: Element): boolean {
  if (oid.end - oid.start !== SUBJECT_ALT_NAME.length) return false;
  return SUBJECT_ALT_NAME.every((byte, i) => der[oid.start + i] === byte);
}

/** An IA5String's text; a byte above 0x7f is not IA5. */
function ia5(der: Uint8Array, value: Element): string {
  const bytes = der.subarray(value.start, value.end);
  if (bytes.some((byte) => byte > 0x7f)) throw new DerError('a URI SAN holds a byte outside IA5 (ASCII)');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * Every URI SAN (GeneralName `uniformResourceIdentifier`) of the DER certificate `der`, in
 * order, exactly as encoded; `[]` without a subjectAltName extension. Throws a DerError when
 * the certificate, its extensions or the SAN extension cannot be read, or the SAN extension
 * appears twice (RFC 5280 §4.2).
 */
export function uriSans(der: Uint8Array): string[] {
  const certificate = only(der, { tag: 0, start: 0, end: der.length }, SEQUENCE);
  const tbs = element(der, certificate.start, certificate.end);
  if (tbs.tag !== SEQUENCE) throw new DerError('expected tbsCertificate');
  const extensions = children(der, tbs).find((field) => field.tag === EXTENSIONS);
  if (!extensions) return [];
  let uris: string[] | undefined;
  for (const extension of children(der, only(der, extensions, SEQUENCE))) {
    if (extension.tag !== SEQUENCE) throw new DerError('expected an extension');
    // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    const [oid, second, third, ...rest] = children(der, extension);
    const value = third ?? second;
    if (oid?.tag !== OBJECT_IDENTIFIER || value?.tag !== OCTET_STRING || rest.length > 0 || (third && second?.tag !== BOOLEAN)) {
      throw new DerError('malformed extension');
    }
    if (!isSubjectAltName(der, oid)) continue;
    if (uris) throw new DerError('two subjectAltName extensions');
    uris = [];
    for (const name of children(der, only(der, value, SEQUENCE))) {
      if (name.tag === URI_CONSTRUCTED) throw new DerError('a URI SAN is not a primitive IA5String');
      if (name.tag === URI) uris.push(ia5(der, name));
    }
  }
  return uris ?? [];
}
