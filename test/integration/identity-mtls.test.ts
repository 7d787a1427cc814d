import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPki, identityFiles, type CertFiles, type TestCa, type TestPki } from '../helpers/pki.ts';
import { echo, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { testLicense } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';

let pki: TestPki;
let ca: TestCa;
const leaf: Record<string, CertFiles> = {};
beforeAll(async () => {
  pki = await createPki();
  const [mine, other] = await Promise.all([pki.createCa('mtls-it-ca'), pki.createCa('mtls-it-other')]);
  ca = mine;
  const issued = await Promise.all([
    ca.issue('server', { uris: ['spiffe://corp/ns/pay/sa/api'] }),
    ca.issue('billing', { uris: ['spiffe://corp/ns/billing/sa/api'] }),
    ca.issue('ops', { uris: ['spiffe://corp/ns/ops/sa/runner'] }),
    ca.issue('twouris', { uris: ['spiffe://corp/ns/billing/sa/a', 'spiffe://corp/ns/billing/sa/b'] }),
    ca.issue('expired', { uris: ['spiffe://corp/ns/billing/sa/api'], days: -1 }),
    other.issue('stranger', { uris: ['spiffe://corp/ns/billing/sa/api'] }),
  ]);
  for (const cert of issued) leaf[cert.cert.replace(/^.*-(\w+)\.crt$/, '$1')] = cert;
});
afterAll(() => pki.close());

async function mtlsSidecar(handshakeTimeout = '2s') {
  const upstream = await startUpstream(echo);
  const identity = { mode: 'mtls', ...identityFiles(ca, leaf.server as CertFiles), handshake_timeout: handshakeTimeout };
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address, identity }]), { licensed: false });
  h.source.set('api', testLicense({ port: 'api', allow: ['spiffe://corp/ns/billing/*'] }));
  return h;
}

/** Connects with `client` (or no certificate), sends "ping", resolves to what came back or how it ended. */
function ping(port: number, client: CertFiles | undefined): Promise<string> {
  return new Promise((resolve) => {
    const socket = connectTls({ host: '127.0.0.1', port, ca: ca.certPem, cert: client?.certPem, key: client?.keyPem, checkServerIdentity: () => undefined });
    let text = '';
    let error = '';
    socket.on('secureConnect', () => socket.write('ping'));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text === 'ping') socket.end();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (error ||= err.code ?? 'error'));
    socket.on('close', () => resolve(text || error || 'closed'));
  });
}

it('admits an allowed SPIFFE ID, refuses another with identity_not_allowed, two URI SANs with no_identity, and bad certificates at the handshake', async () => {
  const h = await mtlsSidecar();
  const { port } = h.address('api');

  expect(await ping(port, leaf.billing)).toBe('ping');
  expect(await ping(port, leaf.ops)).not.toBe('ping');
  expect(await ping(port, leaf.twouris)).not.toBe('ping');
  for (const bad of [undefined, leaf.expired, leaf.stranger]) expect(await ping(port, bad)).not.toBe('ping');

  await waitFor(() => h.records.length === 3);
  expect(h.records.map(({ decision, reason, identity }) => ({ decision, reason, identity }))).toEqual([
    { decision: 'allow', reason: undefined, identity: 'spiffe://corp/ns/billing/sa/api' },
    { decision: 'deny', reason: 'identity_not_allowed', identity: 'spiffe://corp/ns/ops/sa/runner' },
    { decision: 'deny', reason: 'no_identity', identity: undefined },
  ]);
  await waitFor(async () => (await h.metric('portwarden_handshake_failures_total', { port: 'api', failure: 'tls_handshake_failed' })) === 3);
  // each failure is logged at info with who and why, so an operator needs no debug level to see it
  const failures = h.logs.filter((line) => line.msg === 'handshake failed');
  expect(failures.map((line) => [line.failure, line.origin])).toEqual(Array(3).fill(['tls_handshake_failed', '127.0.0.1']));
  expect(failures.map((line) => String(line.detail))).toEqual([
    expect.stringMatching(/certificate/i), // none presented
    expect.stringMatching(/expired/i),
    expect.stringMatching(/unable.to.verify|unknown.ca|self.signed|issuer/i),
  ]);
  expect(await h.metric('portwarden_connections_total', { port: 'api', decision: 'deny', reason: 'identity_not_allowed' })).toBe(1);
  expect(await h.metric('portwarden_connections_total', { port: 'api', decision: 'deny', reason: 'no_identity' })).toBe(1);
  expect(await h.metric('portwarden_tls_cert_expiry_timestamp_seconds', { port: 'api' })).toBeGreaterThan(Date.now() / 1000);
});

it('serves good clients within their timeouts through a flood of silent sockets and garbage', async () => {
  const h = await mtlsSidecar('1s');
  const { port } = h.address('api');
  const flood: Socket[] = [];
  for (let i = 0; i < 50; i++) flood.push(connectTcp(port, '127.0.0.1')); // connect and say nothing
  for (let i = 0; i < 10; i++) {
    const garbage = connectTcp(port, '127.0.0.1');
    garbage.on('connect', () => garbage.write(`GET /${i} HTTP/1.1\r\nHost: api\r\n\r\n`)); // plaintext to a TLS port
    flood.push(garbage);
  }
  for (const socket of flood) socket.on('error', () => undefined);

  const started = Date.now();
  for (let i = 0; i < 10; i++) {
    const begun = Date.now();
    expect(await ping(port, leaf.billing)).toBe('ping');
    expect(Date.now() - begun).toBeLessThan(1_000);
  }
  expect(Date.now() - started).toBeLessThan(3_000);

  // the silent ones are cut at the deadline, the garbage at once
  await waitFor(() => flood.every((socket) => socket.destroyed || socket.readableEnded), { what: 'the flood to be cut' });
  for (const socket of flood) socket.destroy();
  expect(await h.metric('portwarden_handshake_failures_total', { port: 'api', failure: 'tls_handshake_timeout' })).toBe(50);
  expect(await h.metric('portwarden_handshake_failures_total', { port: 'api', failure: 'tls_handshake_failed' })).toBe(10);
  expect(await h.metric('portwarden_connections_total', { port: 'api', decision: 'allow', reason: '' })).toBe(10);
});
