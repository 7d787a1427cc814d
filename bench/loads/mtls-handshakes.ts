import { readFileSync } from 'node:fs';
import { connect, type ConnectionOptions } from 'node:tls';
import type { BenchPki } from '../pki.ts';

/**
 * mTLS handshakes per second: each connection presents the client certificate, completes a
 * full handshake (no session resumption), sends one byte, waits for the echo upstream to send
 * it back through the front, then closes. `concurrency` clients loop for `durationSec`.
 */
export async function mtlsHandshakes(port: number, pki: BenchPki, durationSec: number, concurrency = 16): Promise<number> {
  const options: ConnectionOptions = {
    host: '127.0.0.1',
    port,
    ca: readFileSync(pki.ca),
    cert: pki.client.certPem,
    key: pki.client.keyPem,
    servername: 'localhost',
  };
  const deadline = Date.now() + durationSec * 1000;
  let done = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = connect(options);
      socket.once('secureConnect', () => socket.write('x'));
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
  if (failed > done / 100) throw new Error(`${failed} of ${done + failed} mTLS connections failed`);
  return done / ((Date.now() - started) / 1000);
}
