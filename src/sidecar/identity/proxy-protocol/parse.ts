import { isIP, SocketAddress } from 'node:net';
import { unmapIPv4 } from '../../../shared/cidr.ts';
import type { Origin } from '../identity.ts';

/**
 * A PROXY protocol header (haproxy's proxy-protocol.txt, v1 text and v2 binary).
 * `source` is the caller the proxy relays; it is absent when the header tells no address
 * (v2 LOCAL, v1 UNKNOWN, v2 UNSPEC or UNIX families): then the connection's own peer counts.
 */
export interface ProxyHeader {
  version: 1 | 2;
  /** `local`: the proxy's own connection (a health check), not a relayed one. */
  command: 'proxy' | 'local';
  source?: Origin;
  destination?: Origin;
}

export type ParseResult =
  | { readonly status: 'incomplete' }
  | { readonly status: 'complete'; readonly header: ProxyHeader; /** Bytes after the header. */ readonly rest: Buffer }
  | { readonly status: 'invalid'; readonly reason: string };

const v2Signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const v1Prefix = Buffer.from('PROXY ', 'latin1');
const v1MaxLength = 107; // "PROXY TCP6 <39> <39> <5> <5>\r\n", per the spec
const v2FixedLength = 16;
const incomplete: ParseResult = Object.freeze({ status: 'incomplete' });
const invalid = (reason: string): ParseResult => ({ status: 'invalid', reason });

/**
 * An incremental PROXY header parser: `push` each chunk as it arrives (one byte at a time
 * works) until it answers `complete` or `invalid`. Anything that can no longer become a
 * header is refused at the first wrong byte, not after a timeout. Chunks are only joined when
 * enough bytes are there, so a large v2 header delivered byte by byte costs no quadratic copying.
 */
export class ProxyHeaderParser {
  #chunks: Buffer[] = [];
  #length = 0;
  #v2Total = 0; // total v2 header length, once the fixed part is read

  push(chunk: Buffer): ParseResult {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    if (this.#v2Total > 0) return this.#length < this.#v2Total ? incomplete : this.#finishV2();
    const head = this.#joined(Math.min(this.#length, v1MaxLength));
    if (head[0] === v2Signature[0]) return this.#startV2(head);
    if (!startsLike(head, v1Prefix)) return invalid('not a PROXY protocol header');
    const lf = head.indexOf(0x0a);
    if (lf === -1) return head.length >= v1MaxLength ? invalid('v1 header longer than 107 bytes') : incomplete;
    if (head[lf - 1] !== 0x0d) return invalid('v1 header does not end with CRLF');
    const crlf = lf - 1;
    const header = parseV1(head.toString('latin1', 0, crlf));
    if (typeof header === 'string') return invalid(header);
    return { status: 'complete', header, rest: this.#joined(this.#length).subarray(crlf + 2) };
  }

  #startV2(head: Buffer): ParseResult {
    if (!startsLike(head, v2Signature)) return invalid('not a PROXY protocol header');
    if (head.length < v2FixedLength) return incomplete;
    const version = head[12] as number;
    if (version >> 4 !== 2) return invalid(`v2 version ${version >> 4} is not 2`);
    if ((version & 0x0f) > 1) return invalid(`v2 command ${version & 0x0f} is neither LOCAL nor PROXY`);
    this.#v2Total = v2FixedLength + head.readUInt16BE(14);
    return this.#length < this.#v2Total ? incomplete : this.#finishV2();
  }

  #finishV2(): ParseResult {
    const all = this.#joined(this.#length);
    const header = parseV2(all.subarray(0, this.#v2Total));
    if (typeof header === 'string') return invalid(header);
    return { status: 'complete', header, rest: all.subarray(this.#v2Total) };
  }

  /** The first `n` buffered bytes as one buffer (joins the chunks once, keeps them joined). */
  #joined(n: number): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#length)];
    return (this.#chunks[0] ?? Buffer.alloc(0)).subarray(0, n);
  }
}

/** True when `bytes` agree with `prefix` as far as either goes. */
function startsLike(bytes: Buffer, prefix: Buffer): boolean {
  const n = Math.min(bytes.length, prefix.length);
  return bytes.subarray(0, n).equals(prefix.subarray(0, n));
}

const port = /^(?:0|[1-9]\d{0,4})$/;

/** `PROXY TCP4 src dst sport dport`; a string is the reason it is refused. */
function parseV1(line: string): ProxyHeader | string {
  const parts = line.split(' ');
  if (parts[1] === 'UNKNOWN') return { version: 1, command: 'local' }; // the rest of the line is ignored, per the spec
  if (parts.length !== 6) return 'v1 header must have 6 fields';
  const [, protocol, src = '', dst = '', sport = '', dport = ''] = parts;
  const family = protocol === 'TCP4' ? 4 : protocol === 'TCP6' ? 6 : 0;
  if (family === 0) return `v1 protocol "${protocol}" is not TCP4, TCP6 or UNKNOWN`;
  if (isIP(src) !== family || isIP(dst) !== family) return `v1 addresses are not ${protocol} addresses`;
  if (!port.test(sport) || !port.test(dport) || Number(sport) > 65_535 || Number(dport) > 65_535) return 'v1 ports are not 0-65535';
  // one text per address, as v2 gives it: `::ffff:0a01:0203` and `::ffff:10.1.2.3` are 10.1.2.3
  const text = family === 6 ? canonicalIPv6 : (address: string) => address;
  return {
    version: 1,
    command: 'proxy',
    source: { address: text(src), port: Number(sport) },
    destination: { address: text(dst), port: Number(dport) },
  };
}

/** A whole v2 header (fixed part, addresses, TLVs); a string is the reason it is refused. */
function parseV2(bytes: Buffer): ProxyHeader | string {
  const command = (bytes[12] as number) & 0x0f;
  if (command === 0) return { version: 2, command: 'local' }; // addresses and TLVs are skipped
  const familyByte = bytes[13] as number;
  const family = familyByte >> 4;
  const transport = familyByte & 0x0f;
  const body = bytes.subarray(v2FixedLength);
  // UNSPEC and UNIX tell no IP address: the connection's own peer counts (the spec's advice)
  if (family === 0 || family === 3) return { version: 2, command: 'proxy' };
  if (family > 3) return `v2 address family ${family} is unknown`;
  if (transport !== 1) return 'v2 transport is not STREAM (TCP)';
  if (family === 1) {
    if (body.length < 12) return 'v2 IPv4 address block is short';
    return {
      version: 2,
      command: 'proxy',
      source: { address: ipv4(body, 0), port: body.readUInt16BE(8) },
      destination: { address: ipv4(body, 4), port: body.readUInt16BE(10) },
    };
  }
  if (body.length < 36) return 'v2 IPv6 address block is short';
  return {
    version: 2,
    command: 'proxy',
    source: { address: ipv6(body, 0), port: body.readUInt16BE(32) },
    destination: { address: ipv6(body, 16), port: body.readUInt16BE(34) },
  };
}

function ipv4(bytes: Buffer, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** The canonical text of 16 address bytes; an IPv4-mapped one is read as IPv4, as the peer address would be. */
function ipv6(bytes: Buffer, offset: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(offset + i).toString(16));
  return canonicalIPv6(groups.join(':'));
}

/** An IPv6 address as Node writes it (RFC 5952), IPv4-mapped ones as plain IPv4. */
function canonicalIPv6(address: string): string {
  return unmapIPv4(new SocketAddress({ address, family: 'ipv6' }).address);
}
