import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { decodeAddress, parseProcNet, readListeners } from '../../../../src/sidecar/inventory/proc-net.ts';

// Tables as the kernel prints them (trailing padding and all): listeners, established
// connections, TIME_WAIT, connected and unconnected UDP.
const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     
   0: 00000000:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0                     
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 41234 1 0000000000000000 100 0 0 10 0                     
   2: 3500007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 18203 1 0000000000000000 100 0 0 10 5                     
   3: 0F02000A:20FB 1E02000A:C8D2 01 00000000:00000000 02:000AFC1E 00000000     0        0 51422 2 0000000000000000 20 4 30 10 -1                    
   4: 0100007F:1F90 0100007F:A2B4 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000                                      
`;

const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 22841 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:0CEA 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 22900 1 0000000000000000 100 0 0 10 0
   2: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 23001 1 0000000000000000 100 0 0 10 0
   3: 000080FE000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 23002 1 0000000000000000 100 0 0 10 0
   4: 0000000000000000FFFF00000F02000A:20FB 0000000000000000FFFF00001E02000A:D3A6 01 00000000:00000000 02:00058B1E 00000000     0        0 52001 2 0000000000000000 20 4 30 10 -1
`;

const udp = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            
  356: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 18202 2 0000000000000000 0         
  371: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 19010 2 0000000000000000 0         
  610: 0F02000A:E1A2 08080808:0035 01 00000000:00000000 00:00000000 00000000  1000        0 52011 2 0000000000000000 0         
`;

const udp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   107        0 20123 2 0000000000000000 0
  124: 0000000000000000FFFF00000F02000A:A001 0000000000000000FFFF000008080808:0035 01 00000000:00000000 00:00000000 00000000   107        0 20124 2 0000000000000000 0
`;

describe('parseProcNet', () => {
  it('reads IPv4 TCP listeners and ignores connections and TIME_WAIT', () => {
    expect(parseProcNet(tcp, 'tcp')).toEqual([
      { protocol: 'tcp', address: '0.0.0.0', port: 8443, inode: 31337 },
      { protocol: 'tcp', address: '127.0.0.1', port: 8080, inode: 41234 },
      { protocol: 'tcp', address: '127.0.0.53', port: 53, inode: 18203 },
    ]);
  });

  it('reads IPv6 TCP listeners word by word', () => {
    expect(parseProcNet(tcp6, 'tcp6')).toEqual([
      { protocol: 'tcp', address: '::', port: 8080, inode: 22841 },
      { protocol: 'tcp', address: '::1', port: 3306, inode: 22900 },
      { protocol: 'tcp', address: '2001:db8::1', port: 443, inode: 23001 },
      { protocol: 'tcp', address: 'fe80::1', port: 8081, inode: 23002 },
    ]);
  });

  it('reads unconnected UDP sockets and ignores connected ones', () => {
    expect(parseProcNet(udp, 'udp')).toEqual([
      { protocol: 'udp', address: '127.0.0.53', port: 53, inode: 18202 },
      { protocol: 'udp', address: '0.0.0.0', port: 68, inode: 19010 },
    ]);
    expect(parseProcNet(udp6, 'udp6')).toEqual([{ protocol: 'udp', address: '::', port: 5353, inode: 20123 }]);
  });

  it('skips lines that do not parse', () => {
    expect(parseProcNet('garbage\n   0: ZZ:1F90 00000000:0000 0A 0 0 0 0 0 1\n', 'tcp')).toEqual([]);
  });
});

describe('decodeAddress', () => {
  it('writes IPv6 as RFC 5952 does and keeps IPv4-mapped tails dotted', () => {
    expect(decodeAddress('0000000000000000FFFF00000F02000A')).toBe('::ffff:10.0.2.15');
    // 2001:db8:0:0:1:0:0:1 — the first of two equal zero runs is compressed
    expect(decodeAddress('B80D0120000000000000010001000000')).toBe('2001:db8::1:0:0:1');
    // single zero groups are not compressed
    expect(decodeAddress('B80D0120010000000100010001000000')).toBe('2001:db8:0:1:1:1:0:1');
    expect(decodeAddress('0100007F0')).toBeUndefined();
  });
});

describe('readListeners on this machine', () => {
  it('finds TCP (IPv4 and IPv6) and UDP sockets the test opens', async () => {
    const tcpPort = await listenTcp('127.0.0.1');
    const tcp6Port = await listenTcp('::1');
    const udpPort = await bindUdp();

    const listeners = await readListeners();
    expect(listeners).toContainEqual(expect.objectContaining({ protocol: 'tcp', address: '127.0.0.1', port: tcpPort }));
    expect(listeners).toContainEqual(expect.objectContaining({ protocol: 'tcp', address: '::1', port: tcp6Port }));
    expect(listeners).toContainEqual(expect.objectContaining({ protocol: 'udp', address: '127.0.0.1', port: udpPort }));
  });

  it('reads a missing table as empty', async () => {
    expect(await readListeners('/nonexistent-proc-net')).toEqual([]);
  });
});

async function listenTcp(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

async function bindUdp(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return socket.address().port;
}
