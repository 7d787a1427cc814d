import { connect } from 'node:net';
import type { Socket } from 'node:net';

/**
 * Opens one connection after another from `concurrency` clients for `durationSec`: each sends
 * one byte once `readyEvent` fires, waits for the echo to come back through the front (so the
 * front really connected upstream), then closes. Returns completed connections per second.
 */
export async function connectionLoop(open: () => Socket, readyEvent: 'connect' | 'secureConnect', durationSec: number, concurrency: number, what: string): Promise<number> {
  const deadline = Date.now() + durationSec * 1000;
  let done = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = open();
      socket.once(readyEvent, () => socket.write('x'));
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
  if (failed > done / 100) throw new Error(`${failed} of ${done + failed} ${what} failed`);
  return done / ((Date.now() - started) / 1000);
}

/** New connections per second through the front to the echo upstream. */
export function newConnections(port: number, durationSec: number, concurrency = 32): Promise<number> {
  return connectionLoop(() => connect({ host: '127.0.0.1', port, noDelay: true }), 'connect', durationSec, concurrency, 'connections');
}
