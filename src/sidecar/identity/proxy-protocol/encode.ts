import { isIP } from 'node:net';
import { unmapIPv4 } from '../../../shared/cidr.ts';
import type { Origin } from '../identity.ts';

// the 12-byte signature that starts every PROXY protocol v2 header (haproxy proxy-protocol.txt, 2.2)
const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const versionProxy = 0x21; // version 2, command PROXY
const versionLocal = 0x20; // version 2, command LOCAL: no addresses to tell
const tcp4 = 0x11;
const tcp6 = 0x21;

/**
 * The PROXY protocol v2 header sent to the upstream when `upstream_proxy_protocol: v2`, so the
 * service sees the caller's address and the address it dialled. Mixed families are sent as
 * IPv6 (IPv4-mapped); an unknown address gives a LOCAL header.
 */
export function encodeProxyV2Header(source: Origin, destination: Origin): Buffer {
  const src = unmapIPv4(source.address);
  const dst = unmapIPv4(destination.address);
  const srcFamily = isIP(src);
  const dstFamily = isIP(dst);
  if (srcFamily === 0 || dstFamily === 0) return header(versionLocal, 0, 0);
  if (srcFamily === 4 && dstFamily === 4) {
    const out = header(versionProxy, tcp4, 12);
    writeIPv4(out, 16, src);
    writeIPv4(out, 20, dst);
    out.writeUInt16BE(source.port, 24);
    out.writeUInt16BE(destination.port, 26);
    return out;
  }
  const out = header(versionProxy, tcp6, 36);
  writeIPv6(out, 16, srcFamily === 4 ? `::ffff:${src}` : src);
  writeIPv6(out, 32, dstFamily === 4 ? `::ffff:${dst}` : dst);
  out.writeUInt16BE(source.port, 48);
  out.writeUInt16BE(destination.port, 50);
  return out;
}

function header(versionCommand: number, family: number, length: number): Buffer {
  const out = Buffer.alloc(16 + length);
  signature.copy(out, 0);
  out[12] = versionCommand;
  out[13] = family;
  out.writeUInt16BE(length, 14);
  return out;
}

function writeIPv4(out: Buffer, offset: number, address: string): void {
  const parts = address.split('.');
  for (let i = 0; i < 4; i++) out[offset + i] = Number(parts[i]);
}

/** Writes an IPv6 address (with `::` and an optional dotted IPv4 tail) as 16 bytes. */
function writeIPv6(out: Buffer, offset: number, address: string): void {
  const plain = address.split('%')[0] ?? address; // a zone index is local to this host
  const [headText = '', tailText] = plain.split('::');
  const groups = (text: string): number[] => {
    if (text === '') return [];
    return text.split(':').flatMap((part) => {
      if (!part.includes('.')) return [Number.parseInt(part, 16)];
      const [a = 0, b = 0, c = 0, d = 0] = part.split('.').map(Number);
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const head = groups(headText);
  const tail = tailText === undefined ? [] : groups(tailText);
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  for (let i = 0; i < 8; i++) out.writeUInt16BE(all[i] ?? 0, offset + i * 2);
}
