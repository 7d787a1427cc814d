import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../../../../src/shared/logger.ts';
import type { InboundResult } from '../../../../src/sidecar/identity/identity.ts';
import { MtlsIdentityResolver } from '../../../../src/sidecar/identity/mtls.ts';
import { createSidecarMetrics } from '../../../../src/sidecar/admin/metrics.ts';
import { TlsMaterial } from '../../../../src/sidecar/identity/tls/material.ts';
import { waitFor } from '../../../helpers/wait.ts';
import { createPki, identityFiles, type CertFiles, type TestCa, type TestPki } from '../../../helpers/pki.ts';

let pki: TestPki;
let ca: TestCa;
let other: TestCa;
let server: CertFiles;
const leaves: Record<string, CertFiles> = {};
beforeAll(async () => {
  pki = await createPki();
  [ca, other] = await Promise.all([pki.createCa('mtls-ca'), pki.createCa('other-ca')]);
  server = await ca.issue('server', { uris: ['spiffe://corp/ns/pay/sa/api'], ips: ['127.0.0.1'] });
  const issued = await Promise.all([
    ca.issue('good', { uris: ['spiffe://corp/ns/billing/sa/api'] }),
    ca.issue('two', { uris: ['spiffe://corp/ns/a/sa/x', 'spiffe://corp/ns/b/sa/y'] }),
    ca.issue('dnsonly', { dns: ['client.local'] }),
    ca.issue('notspiffe', { uris: ['https://corp/ns/billing/sa/api'] }),
    ca.issue('expired', { uris: ['spiffe://corp/ns/billing/sa/old'], days: -1 }),
    other.issue('stranger', { uris: ['spiffe://corp/ns/billing/sa/api'] }),
  ]);
  for (const leaf of issued) leaves[leaf.cert.replace(/^.*-(.*)\.crt$/, '$1')] = leaf;
});
afterAll(() => pki.close());

/** A TCP server handing each socket to the mTLS resolver; results are collected, admitted streams answer "ok". */
async function startResolver(handshakeTimeoutMs = 5_000) {
  const logger = createLogger({ level: 'silent' });
  const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
  const material = await TlsMaterial.load({ files: identityFiles(ca, server), keyPath: 'ports[0].identity', port: 'api', logger, metrics, watch: false });
  const resolver = new MtlsIdentityResolver({ material, handshakeTimeoutMs });
  const results: InboundResult[] = [];
  const accepted = { count: 0 };
  const tcp: Server = createServer({ allowHalfOpen: true }, async (socket) => {
    accepted.count++;
    const result = await resolver.resolve(socket);
    results.push(result);
    // answers after the caller's end: half-close works through the TLS socket
    if (result.ok) result.stream.resume().on('end', () => result.stream.end(`ok ${result.identity ?? '-'}`));
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const port = (tcp.address() as { port: number }).port;
  onTestFinished(async () => {
    await resolver.close();
    await new Promise((resolve) => tcp.close(resolve));
  });
  return { resolver, results, port, accepted };
}

/** Connects with `leaf` (or no certificate) and resolves to what the server said, or the client's error code. */
function call(port: number, leaf: CertFiles | undefined): Promise<string> {
  return new Promise((resolve) => {
    const socket = connectTls({ host: '127.0.0.1', port, ca: ca.certPem, cert: leaf?.certPem, key: leaf?.keyPem, allowHalfOpen: true } as ConnectionOptions);
    socket.on('secureConnect', () => socket.end());
    socket.on('end', () => socket.end());
    let text = '';
    let error = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', (err: NodeJS.ErrnoException) => (error ||= err.code ?? 'error'));
    socket.on('close', () => resolve(text || error || 'closed'));
  });
}

describe('MtlsIdentityResolver', () => {
  it('admits a client certificate of the CA with its URI SAN as the identity', async () => {
    const { results, port } = await startResolver();
    expect(await call(port, leaves.good)).toBe('ok spiffe://corp/ns/billing/sa/api');
    expect(results[0]).toMatchObject({ ok: true, identity: 'spiffe://corp/ns/billing/sa/api', origin: { address: '127.0.0.1' } });
  });

  it('gives no identity for two URI SANs, none, or one that is not a SPIFFE ID, leaving the refusal to the decision', async () => {
    const { results, port } = await startResolver();
    expect(await call(port, leaves.two)).toBe('ok -');
    expect(await call(port, leaves.dnsonly)).toBe('ok -');
    expect(await call(port, leaves.notspiffe)).toBe('ok -');
    expect(results.map((result) => result.ok && result.identity)).toEqual([undefined, undefined, undefined]);
  });

  it('fails the handshake without a client certificate, with an expired one or one from another CA', async () => {
    const { results, port } = await startResolver();
    for (const leaf of [undefined, leaves.expired, leaves.stranger]) expect(await call(port, leaf)).not.toMatch(/^ok/);
    expect(results).toEqual([
      { ok: false, failure: 'tls_handshake_failed', detail: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' },
      { ok: false, failure: 'tls_handshake_failed', detail: 'CERT_HAS_EXPIRED' },
      { ok: false, failure: 'tls_handshake_failed', detail: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
    ]);
  });

  it('refuses TLS below 1.2', async () => {
    const { results, port } = await startResolver();
    const answer = await new Promise<string>((resolve) => {
      const socket = connectTls({ host: '127.0.0.1', port, ca: ca.certPem, ...pemOf(leaves.good), minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
      socket.on('secureConnect', () => resolve('connected'));
      socket.on('error', () => resolve('refused'));
    });
    expect(answer).toBe('refused');
    await waitFor(() => results.length === 1);
    expect(results[0]).toMatchObject({ ok: false, failure: 'tls_handshake_failed' });
  });

  it('times out a caller that sends nothing, and a caller that trickles bytes', async () => {
    const { results, port } = await startResolver(300);
    const started = Date.now();
    const silent = connectTcp(port, '127.0.0.1');
    const trickler = connectTcp(port, '127.0.0.1');
    const hello = Buffer.from('16030100c8010000c40303', 'hex'); // the start of a ClientHello, never finished
    let sent = 0;
    const trickle = setInterval(() => sent < hello.length && trickler.write(hello.subarray(sent, ++sent)), 100);
    onTestFinished(() => clearInterval(trickle));
    await Promise.all([closed(silent), closed(trickler)]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(results).toEqual([
      { ok: false, failure: 'tls_handshake_timeout' },
      { ok: false, failure: 'tls_handshake_timeout' },
    ]);
  });

  it('settles at once, not at the deadline, when the client walks away mid-handshake', async () => {
    const { results, port } = await startResolver(10_000);
    const started = Date.now();
    // the client dislikes our certificate after its half of the handshake and leaves
    const socket = connectTls({ host: '127.0.0.1', port, ca: ca.certPem, ...pemOf(leaves.good), checkServerIdentity: () => new Error('not the peer we want') });
    await closed(socket);
    await waitFor(() => results.length === 1);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(results[0]).toMatchObject({ ok: false, failure: 'tls_handshake_failed' });
  });

  it('settles handshakes in progress when closed, and refuses new ones', async () => {
    const { resolver, results, port, accepted } = await startResolver();
    const silent = connectTcp(port, '127.0.0.1');
    await waitFor(() => accepted.count === 1);
    await Promise.all([resolver.close(), resolver.close()]);
    await closed(silent);
    await closed(connectTcp(port, '127.0.0.1'));
    expect(results).toEqual([
      { ok: false, failure: 'tls_handshake_failed', detail: 'closing' },
      { ok: false, failure: 'tls_handshake_failed', detail: 'closing' },
    ]);
  });
});

function pemOf(leaf: CertFiles | undefined) {
  return { cert: leaf?.certPem, key: leaf?.keyPem };
}

function closed(socket: Socket): Promise<void> {
  socket.on('error', () => undefined);
  socket.resume();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
