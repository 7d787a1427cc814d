import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPki, type CertFiles, type TestCa, type TestPki } from '../helpers/pki.ts';
import { startTestAuthority } from '../helpers/authority.ts';

let pki: TestPki;
let ca: TestCa;
let server: CertFiles;
let client: CertFiles;

beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('authority-ca');
  server = await ca.issue('authority', { ips: ['127.0.0.1'] });
  client = await ca.issue('operator', { uris: ['spiffe://corp/ns/ops/sa/cli'] });
});
afterAll(() => pki.close());

it('serves HTTPS and, with client_ca, admits only clients with a certificate from it', async () => {
  const t = await startTestAuthority({ config: { tls: { cert: server.cert, key: server.key, client_ca: ca.cert } } });
  expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

  const withCert = new Agent({ connect: { ca: ca.certPem, cert: client.certPem, key: client.keyPem } });
  const withoutCert = new Agent({ connect: { ca: ca.certPem } });
  try {
    const answer = await request(`${t.url}/.well-known/jwks.json`, { dispatcher: withCert });
    expect(answer.statusCode).toBe(200);
    expect(((await answer.body.json()) as { keys: unknown[] }).keys).toHaveLength(1);
    await expect(request(`${t.url}/.well-known/jwks.json`, { dispatcher: withoutCert }).then((r) => r.body.text())).rejects.toThrow();
  } finally {
    await withCert.close();
    await withoutCert.close();
  }
});

it('refuses to start on an address in use, with listen_failed', async () => {
  const first = await startTestAuthority();
  const port = new URL(first.url).port;
  await expect(startTestAuthority({ config: { listen: `127.0.0.1:${port}` } })).rejects.toMatchObject({ code: 'listen_failed' });
});
