import { readFileSync } from 'node:fs';
import { connect, type ConnectionOptions } from 'node:tls';
import type { BenchPki } from '../pki.ts';
import { connectionLoop } from './new-connections.ts';

/**
 * mTLS handshakes per second: each connection presents the client certificate, completes a
 * full handshake (no session resumption), sends one byte, waits for the echo upstream to send
 * it back through the front, then closes. `concurrency` clients loop for `durationSec`.
 */
export function mtlsHandshakes(port: number, pki: BenchPki, durationSec: number, concurrency = 16): Promise<number> {
  const options: ConnectionOptions = {
    host: '127.0.0.1',
    port,
    ca: readFileSync(pki.ca),
    cert: pki.client.certPem,
    key: pki.client.keyPem,
    servername: 'localhost',
  };
  return connectionLoop(() => connect(options), 'secureConnect', durationSec, concurrency, 'mTLS connections');
}
