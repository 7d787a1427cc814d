import { connect } from 'node:net';

/**
 * New connections per second: each connection sends one byte to the echo upstream through the
 * front, waits for it to come back (so the front really connected upstream), then closes.
 * `concurrency` clients loop for `durationSec`.
 */
export async function newConnections(port: number, durationSec: number, concurrency = 32): Promise<number> {
  const deadline = Date.now() + durationSec * 1000;
  let done = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true });
      socket.once('connect', () => socket.write('x'));
      socket.once('data', () => {
        done++;
        socket.end();
      });
      socket.once('error', () => failed++);
      socket.once('close', () => resolve());
    });
  const worker = async () => {
    while (Date.now() < deadline) await one();
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failed > done / 100) throw new Error(`${failed} of ${done + failed} connections failed`);
  return done / ((Date.now() - started) / 1000);
}
