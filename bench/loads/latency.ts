import { connect, type Socket } from 'node:net';
import { percentile } from '../stats.ts';

export interface LatencyResult {
  p50Ms: number;
  p99Ms: number;
  samples: number;
}

const request = Buffer.from('GET / HTTP/1.1\r\nhost: bench\r\n\r\n');

/**
 * Keep-alive HTTP latency with microsecond resolution (autocannon reports whole
 * milliseconds): `connections` keep-alive connections share a fixed aggregate rate of
 * `ratePerSec` requests, each timed with `process.hrtime` from write to the last byte of the
 * response. The rate stays well under every front's capacity, so the figure is the time a
 * request spends in the hop, not in a queue of a saturated front.
 */
export async function httpLatency(port: number, durationSec: number, ratePerSec = 3_000, connections = 32): Promise<LatencyResult> {
  const samples: number[] = [];
  const intervalNs = BigInt(Math.round((connections / ratePerSec) * 1e9));
  const deadline = process.hrtime.bigint() + BigInt(Math.round(durationSec * 1e9));
  const one = (offset: number) =>
    new Promise<void>((resolve, reject) => {
      const socket: Socket = connect({ host: '127.0.0.1', port, noDelay: true });
      let buffered: Buffer = Buffer.alloc(0);
      let sentAt = 0n;
      // slots spread over one interval, so the connections do not fire together
      let slot = process.hrtime.bigint() + (intervalNs * BigInt(offset)) / BigInt(connections);
      const send = () => {
        const now = process.hrtime.bigint();
        if (now >= deadline) {
          socket.end();
          return;
        }
        if (now < slot) {
          setTimeout(send, Number((slot - now) / 1_000_000n));
          return;
        }
        slot += intervalNs;
        sentAt = process.hrtime.bigint();
        socket.write(request);
      };
      socket.on('data', (chunk: Buffer) => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        const headEnd = buffered.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const length = Number(/content-length:\s*(\d+)/i.exec(buffered.subarray(0, headEnd).toString('latin1'))?.[1] ?? 0);
        if (buffered.length < headEnd + 4 + length) return;
        samples.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
        buffered = buffered.subarray(headEnd + 4 + length);
        send();
      });
      socket.once('connect', send);
      socket.once('error', reject);
      socket.once('close', () => resolve());
    });
  await Promise.all(Array.from({ length: connections }, (_, i) => one(i)));
  return { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), samples: samples.length };
}
