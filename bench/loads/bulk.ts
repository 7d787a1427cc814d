import { connect } from 'node:net';

/** Download throughput in MB/s: `streams` connections each read the source upstream's whole stream. */
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

const chunk = Buffer.alloc(64 * 1024, 0x62);

/**
 * Upload throughput in MB/s: `streams` connections each write `bytes` to the sink upstream
 * (honouring backpressure) and wait for its one-byte acknowledgement that all arrived.
 */
export async function bulkUpload(port: number, bytes: number, streams = 2): Promise<number> {
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from(
      { length: streams },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port });
          let left = bytes;
          const write = () => {
            while (left > 0) {
              left -= chunk.length;
              if (!socket.write(chunk)) return void socket.once('drain', write);
            }
          };
          socket.once('connect', write);
          socket.once('data', () => {
            socket.destroy();
            resolve();
          });
          socket.once('error', reject);
          socket.once('close', () => reject(new Error('closed before the sink acknowledged the upload')));
        }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return (bytes * streams) / 1e6 / seconds;
}
