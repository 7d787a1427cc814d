import type { X509Certificate } from 'node:crypto';

/** One subjectAltName entry: its type as Node prints it (`URI`, `DNS`, `IP Address`, ...) and its value. */
export interface AltName {
  type: string;
  value: string;
}

// a JSON string literal, as Node quotes SAN values that hold `,`, `"`, `\` or control characters
// (since the fix for CVE-2021-44532); the same pattern node's own lib/tls.js splits with
// eslint-disable-next-line no-control-regex -- control characters are what a JSON string may not hold raw
const jsonString = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/;

/**
 * Splits a certificate's `subjectAltName` text (`URI:spiffe://a, DNS:b`) into entries. Values
 * Node had to quote are JSON-decoded, so a value holding `, URI:` cannot pose as a second
 * entry. Returns undefined for text that is not well formed.
 */
export function parseAltNames(text: string): AltName[] | undefined {
  const entries: AltName[] = [];
  let token = '';
  let offset = 0;
  for (;;) {
    const comma = text.indexOf(',', offset);
    const quote = text.indexOf('"', offset);
    if (quote !== -1 && (comma === -1 || quote < comma)) {
      const match = jsonString.exec(text.slice(quote));
      if (!match) return undefined;
      token += text.slice(offset, quote) + (JSON.parse(match[0]) as string);
      offset = quote + match[0].length;
      continue;
    }
    const end = comma === -1 ? text.length : comma;
    token += text.slice(offset, end);
    const colon = token.indexOf(':');
    if (colon <= 0) return undefined;
    entries.push({ type: token.slice(0, colon), value: token.slice(colon + 1) });
    if (comma === -1) return entries;
    if (text[comma + 1] !== ' ') return undefined; // Node separates entries with ", "
    token = '';
    offset = comma + 2;
  }
}

/** Every URI SAN of `cert`, in order; undefined when the SAN text cannot be read. */
export function uriSans(cert: X509Certificate): string[] | undefined {
  const text = cert.subjectAltName;
  if (text === undefined || text === '') return [];
  return parseAltNames(text)
    ?.filter((entry) => entry.type === 'URI')
    .map((entry) => entry.value);
}

// an identity goes into logs, labels and license matching: no whitespace or control characters
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const printable = /^[^\s\u0000-\u001f\u007f]+$/;

/**
 * The workload identity a certificate carries: its single URI SAN (a SPIFFE ID, as X509-SVIDs
 * have exactly one). None, several, or an unprintable one give undefined — the decision then
 * denies with `no_identity` rather than guessing which one counts.
 */
export function certificateIdentity(cert: X509Certificate | undefined): string | undefined {
  if (!cert) return undefined;
  const uris = uriSans(cert);
  if (uris?.length !== 1) return undefined;
  const [uri = ''] = uris;
  return printable.test(uri) ? uri : undefined;
}

/**
 * True when `identity` matches `pattern`: exactly, or under a SPIFFE prefix written with a
 * trailing `/*` (`spiffe://corp/ns/billing/*` matches `spiffe://corp/ns/billing/sa/api`, not
 * `spiffe://corp/ns/billing` itself) — the same rule as a license's `allow` list.
 */
export function identityMatches(pattern: string, identity: string): boolean {
  if (!pattern.endsWith('/*')) return pattern === identity;
  const prefix = pattern.slice(0, -1);
  return identity.length > prefix.length && identity.startsWith(prefix);
}
