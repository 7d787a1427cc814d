import { createServer as createTcpServer, connect as connectTcp, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { parseConfigText } from '../../../../src/shared/config/load.ts';
import { sidecarSchema } from '../../../../src/shared/config/sidecar-schema.ts';
import { createLogger } from '../../../../src/shared/logger.ts';
import { assertSafe } from '../../../../src/sidecar/reload/safety.ts';
import { OutboundIdentityResolver } from '../../../../src/sidecar/identity/outbound.ts';
import { createSidecarMetrics } from '../../../../src/sidecar/admin/metrics.ts';
import { TlsMaterial } from '../../../../src/sidecar/identity/tls/material.ts';
import { createPki, identityFiles, type CertFiles, type TestCa, type TestPki } from '../../../helpers/pki.ts';

let pki: TestPki;
let ca: TestCa;
let self: CertFiles;
let remote: CertFiles;
let other: CertFiles;
beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('outbound-ca');
  [self, remote, other] = await Promise.all([
    ca.issue('self', { uris: ['spiffe://corp/ns/pay/sa/api'] }),
    ca.issue('remote', { uris: ['spiffe://corp/ns/billing/sa/ledger'] }),
    ca.issue('other', { uris: ['spiffe://corp/ns/ops/sa/ledger'] }),
  ]);
});
afterAll(() => pki.close());

async function outbound(expect = 'spiffe://corp/ns/billing/*', handshakeTimeoutMs = 2_000, listen = { host: '127.0.0.1', port: 0 }) {
  const logger = createLogger({ level: 'silent' });
  const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
  const material = await TlsMaterial.load({ files: identityFiles(ca, self), keyPath: 'ports[0].identity', port: 'out', logger, metrics, watch: false, requireIdentity: true });
  onTestFinished(() => material.close());
  const resolver = new OutboundIdentityResolver({ material, expect, handshakeTimeoutMs, listen, keyPath: 'ports[0]' });
  onTestFinished(() => resolver.close());
  return resolver;
}

/** A remote "sidecar": mTLS server presenting `leaf`, requiring a client certificate of the CA, answering with the client's SAN. */
async function remoteSidecar(leaf: CertFiles): Promise<number> {
  const server = createTlsServer({ ca: ca.certPem, cert: leaf.certPem, key: leaf.keyPem, requestCert: true, rejectUnauthorized: true }, (socket) => {
    socket.end(socket.getPeerX509Certificate()?.subjectAltName ?? '');
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/** Connects through the connector; resolves to the data read, or the error code. */
function dial(resolver: OutboundIdentityResolver, port: number): Promise<string> {
  const socket = resolver.connector.connect({ host: '127.0.0.1', port });
  let text = '';
  let error = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', (err: NodeJS.ErrnoException) => (error ||= err.code ?? 'error'));
  socket.on('end', () => socket.end());
  return new Promise((resolve) => socket.on('close', () => resolve(error || text)));
}

describe('outbound connector', () => {
  it('presents this workload certificate to a remote whose SPIFFE ID matches expect', async () => {
    const resolver = await outbound();
    expect(await dial(resolver, await remoteSidecar(remote))).toBe('URI:spiffe://corp/ns/pay/sa/api');
  });

  it('refuses a remote with another SPIFFE ID, though its chain is good', async () => {
    const resolver = await outbound();
    expect(await dial(resolver, await remoteSidecar(other))).toBe('ERR_TLS_SPIFFE_ID_MISMATCH');
    const exact = await outbound('spiffe://corp/ns/billing/sa/ledger');
    expect(await dial(exact, await remoteSidecar(remote))).toBe('URI:spiffe://corp/ns/pay/sa/api');
  });

  it('gives up on a remote that accepts TCP but never finishes the handshake', async () => {
    const silent = createTcpServer((socket) => socket.on('error', () => undefined));
    const held: Socket[] = [];
    silent.on('connection', (socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      for (const socket of held) socket.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const resolver = await outbound(undefined, 200);
    const started = Date.now();
    expect(await dial(resolver, (silent.address() as { port: number }).port)).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('outbound resolver', () => {
  it('identifies the local caller as this workload', async () => {
    const resolver = await outbound();
    const server = createTcpServer((socket) => {
      const result = resolver.resolve(socket);
      socket.end(JSON.stringify(result.ok && { identity: result.identity, origin: result.origin.address }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const socket = connectTcp((server.address() as { port: number }).port, '127.0.0.1');
    const text = await new Promise<string>((resolve) => {
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
    });
    expect(JSON.parse(text)).toEqual({ identity: 'spiffe://corp/ns/pay/sa/api', origin: '127.0.0.1' });
  });

  it('refuses a listen address off loopback, naming the key', async () => {
    await expect(outbound(undefined, 1_000, { host: '0.0.0.0', port: 9000 })).rejects.toMatchObject({ code: 'config_invalid', message: expect.stringContaining('ports[0].listen: must be a loopback address') });
  });
});

describe('outbound configuration', () => {
  const yaml = (listen: string) => `service: payments
ports:
  - name: ledger
    listen: ${listen}
    upstream: 10.20.0.7:8443
    identity: { mode: outbound, ca: ca.pem, cert: tls.crt, key: tls.key, expect: "spiffe://corp/ns/billing/*" }
`;

  it('refuses a non-loopback listen with the file, line and key', () => {
    expect(() => parseConfigText(yaml('0.0.0.0:9000'), 'sidecar.yaml', sidecarSchema, {})).toThrow(
      'sidecar.yaml:4: ports[0].listen: must be a loopback address (127.0.0.1, ::1 or localhost) with identity mode outbound: the local leg is plaintext',
    );
  });

  it('reaches a remote upstream without allow_remote_upstream: the leg is mTLS to one verified peer', () => {
    const config = parseConfigText(yaml('127.0.0.1:9000'), 'sidecar.yaml', sidecarSchema, {});
    expect(() => assertSafe(config)).not.toThrow();
  });
});
