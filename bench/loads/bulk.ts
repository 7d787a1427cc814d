import { connect } from 'node:net';

/** Bulk throughput in MB/s: `streams` connections each read the source upstream's whole stream. */
export async function bulkThroughput(port: number, streams = 2): Promise<number> {
  const started = process.hrtime.bigint();
  const totals = await Promise.all(
    Array.from(
      { length: streams },
      () =>
        new Promise<number>((resolve, reject) => {
          let bytes = 0;
          const socket = connect({ host: '127.0.0.1', port });
          socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
          socket.once('end', () => resolve(bytes));
          socket.once('error', reject);
        }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return totals.reduce((a, b) => a + b, 0) / 1e6 / seconds;
}
