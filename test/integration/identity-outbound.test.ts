import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPki, identityFiles, type CertFiles, type TestCa, type TestPki } from '../helpers/pki.ts';
import { closedBy, connectTo, echo, hashIncoming, sendRandom, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { testLicense } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';

const payments = 'spiffe://corp/ns/pay/sa/api';
const ledger = 'spiffe://corp/ns/billing/sa/ledger';

let pki: TestPki;
let ca: TestCa;
let paymentsCert: CertFiles;
let ledgerCert: CertFiles;
beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('outbound-it-ca');
  [paymentsCert, ledgerCert] = await Promise.all([ca.issue('payments', { uris: [payments] }), ca.issue('ledger', { uris: [ledger] })]);
});
afterAll(() => pki.close());

/** The ledger service's sidecar: mTLS in front of an echo service, licensing callers from the pay namespace. */
async function ledgerSidecar() {
  const upstream = await startUpstream(echo);
  const identity = { mode: 'mtls', ...identityFiles(ca, ledgerCert) };
  const h = await startSidecar(testConfig([{ name: 'ledger', upstream: upstream.address, identity }], { service: 'ledger' }), { licensed: false });
  h.source.set('ledger', testLicense({ service: 'ledger', port: 'ledger', allow: ['spiffe://corp/ns/pay/*'] }));
  return h;
}

/** The payments workload's sidecar: an outbound port on loopback towards the ledger's sidecar. */
async function paymentsSidecar(remote: string, expect: string) {
  const identity = { mode: 'outbound', ...identityFiles(ca, paymentsCert), expect };
  const h = await startSidecar(testConfig([{ name: 'to-ledger', upstream: remote, identity }]), { licensed: false });
  h.source.set('to-ledger', testLicense({ port: 'to-ledger', allow: [payments] }));
  return h;
}

it('carries a connection from an outbound sidecar to an inbound one, encrypted, mutually authenticated and byte-exact', async () => {
  const inbound = await ledgerSidecar();
  const { host, port } = inbound.address('ledger');
  const outbound = await paymentsSidecar(`${host}:${port}`, 'spiffe://corp/ns/billing/*');

  const size = 4 * 1024 * 1024;
  const app = await connectTo(outbound.address('to-ledger'));
  const received = hashIncoming(app);
  const sent = await sendRandom(app, size);
  app.end(); // half-close travels through both sidecars, the echo ends, and that travels back
  expect(await received).toEqual({ hash: sent, bytes: size });

  await waitFor(() => inbound.records.length === 1 && outbound.records.length === 1);
  // both sides licensed the same identity: the one in the payments certificate
  expect(outbound.records[0]).toMatchObject({ decision: 'allow', identity: payments, bytesIn: size, bytesOut: size });
  expect(inbound.records[0]).toMatchObject({ decision: 'allow', identity: payments, bytesIn: size, bytesOut: size });
});

it('refuses a remote sidecar whose SPIFFE ID is not the expected one, counting an upstream error', async () => {
  const inbound = await ledgerSidecar();
  const { host, port } = inbound.address('ledger');
  const outbound = await paymentsSidecar(`${host}:${port}`, 'spiffe://corp/ns/audit/*');

  const app = await connectTo(outbound.address('to-ledger'));
  app.write('never delivered');
  expect(await closedBy(app)).not.toBe('data');
  await waitFor(() => outbound.records.length === 1);
  expect(outbound.records[0]).toMatchObject({ decision: 'allow', closeReason: 'upstream_error', bytesIn: 0 });
  expect(await outbound.metric('portwarden_upstream_errors_total', { port: 'to-ledger', code: 'ERR_TLS_SPIFFE_ID_MISMATCH' })).toBe(1);
  // the ledger's sidecar sees a client that walked away mid-handshake: no decision, one failure
  await waitFor(async () => (await inbound.metric('portwarden_handshake_failures_total', { port: 'ledger', failure: 'tls_handshake_failed' })) === 1);
  expect(inbound.records).toEqual([]);
});
