import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPki, type CertFiles, type TestPki } from '../test/helpers/pki.ts';

/** The SPIFFE ID of the bench's mTLS client; portwarden's `tls` license allows it. */
export const clientIdentity = 'spiffe://bench.local/ns/load/sa/tls-client';

/** A CA, a server certificate for 127.0.0.1 (and a cert+key bundle for HAProxy) and a client certificate. */
export interface BenchPki {
  ca: string;
  server: CertFiles & { bundle: string };
  client: CertFiles;
  close(): Promise<void>;
}

/** Makes the bench's certificates with `openssl` (ECDSA P-256, as the tests do). */
export async function createBenchPki(): Promise<BenchPki> {
  const pki: TestPki = await createPki();
  const ca = await pki.createCa('bench-ca');
  const server = await ca.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'], uris: ['spiffe://bench.local/ns/load/sa/server'] });
  const client = await ca.issue('client', { uris: [clientIdentity] });
  const bundle = join(pki.dir, 'server-bundle.pem');
  writeFileSync(bundle, server.certPem + server.keyPem, { mode: 0o600 });
  return { ca: ca.cert, server: { ...server, bundle }, client, close: () => pki.close() };
}
