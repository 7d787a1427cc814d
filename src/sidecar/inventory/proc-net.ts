import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A socket waiting for traffic: a TCP listener, or an unconnected bound UDP socket. */
export interface Listener {
  protocol: 'tcp' | 'udp';
  /** The bound address: `0.0.0.0`, `::`, `127.0.0.1`, `::ffff:10.0.0.1`, ... */
  address: string;
  port: number;
  /** The socket's inode, as `/proc/<pid>/fd` links name it; ties a listener to its process. */
  inode: number;
}

/** The four tables, by file name under `/proc/net`. */
export const procNetFiles = ['tcp', 'tcp6', 'udp', 'udp6'] as const;
export type ProcNetFile = (typeof procNetFiles)[number];

// include/net/tcp_states.h: TCP_LISTEN; an unconnected UDP socket shows TCP_CLOSE
const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07';

/**
 * Parses one `/proc/net/{tcp,tcp6,udp,udp6}` table into its listeners. Addresses are hex,
 * each 32-bit word in host (little-endian) byte order; the port is plain big-endian hex.
 * Lines that do not parse are skipped: the kernel's format is the authority here.
 */
export function parseProcNet(text: string, file: ProcNetFile): Listener[] {
  const protocol = file.startsWith('tcp') ? 'tcp' : 'udp';
  const wanted = protocol === 'tcp' ? TCP_LISTEN : UDP_UNCONNECTED;
  const listeners: Listener[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    if (fields.length < 10 || !fields[0]?.endsWith(':') || fields[3] !== wanted) continue;
    const [addressHex = '', portHex = ''] = fields[1]!.split(':');
    const address = decodeAddress(addressHex);
    const port = Number.parseInt(portHex, 16);
    const inode = Number(fields[9]);
    if (address === undefined || !/^[0-9A-Fa-f]{4}$/.test(portHex) || !Number.isSafeInteger(inode)) continue;
    listeners.push({ protocol, address, port, inode });
  }
  return listeners;
}

/** Decodes a `/proc/net` hex address (8 hex digits for IPv4, 32 for IPv6). */
export function decodeAddress(hex: string): string | undefined {
  if (!/^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{32})$/.test(hex)) return undefined;
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    // each 32-bit word is stored little-endian: its bytes come last to first
    for (let byte = 6; byte >= 0; byte -= 2) bytes.push(Number.parseInt(hex.slice(word + byte, word + byte + 2), 16));
  }
  return bytes.length === 4 ? bytes.join('.') : formatIPv6(bytes);
}

/** RFC 5952 text for 16 bytes; IPv4-mapped addresses keep their dotted tail. */
function formatIPv6(bytes: number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) return `::ffff:${bytes.slice(12).join('.')}`;
  // the longest run of two or more zero groups becomes "::" (the first, on a tie)
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end += 1;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end;
  }
  const text = groups.map((group) => group.toString(16));
  if (bestStart === -1) return text.join(':');
  return `${text.slice(0, bestStart).join(':')}::${text.slice(bestStart + bestLength).join(':')}`;
}

/**
 * Reads every listener of this network namespace (in a pod: the pod's; on a host: the host's).
 * A missing table (IPv6 disabled, or no procfs at all) reads as empty.
 */
export async function readListeners(root = '/proc/net'): Promise<Listener[]> {
  const tables = await Promise.all(
    procNetFiles.map(async (file) => {
      try {
        return parseProcNet(await readFile(join(root, file), 'utf8'), file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
    }),
  );
  return tables.flat();
}
