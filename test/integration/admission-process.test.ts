import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnAuthority } from '../helpers/authority-process.ts';
import { podSpecOf, review } from '../helpers/admission.ts';
import { createPki, type CertFiles, type TestCa, type TestPki } from '../helpers/pki.ts';

let pki: TestPki;
let ca: TestCa;
let server: CertFiles;

beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('cluster-ca');
  server = await ca.issue('portwarden-authority', { ips: ['127.0.0.1'] });
});
afterAll(() => pki.close());

it('the `portwarden authority` process answers reviews over HTTPS, and a malformed one with 400 while it stays up', async () => {
  const authority = await spawnAuthority({
    config: `tls: { cert: ${server.cert}, key: ${server.key} }\nadmission:\n  enabled: true\n  default_mode: enforce\n  namespaces: [{ match: payments, service: payments, env: prod }]\n`,
  });
  expect(authority.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  const agent = new Agent({ connect: { ca: ca.certPem } });
  try {
    const post = async (body: string) => {
      const answer = await request(`${authority.url}/v1/admission/validate`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body });
      return { status: answer.statusCode, body: (await answer.body.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const register = await request(`${authority.url}/v1/ports`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${authority.adminToken}` },
      body: JSON.stringify({ service: 'orders', name: 'api', number: 20010, env: 'prod' }),
    });
    expect(register.statusCode).toBe(201);
    await register.body.dump();

    const malformed = await post('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","operation":"PATCH"}}');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('bad_request');
    expect(malformed.body.error.message).toContain('request.operation:');
    expect(await post('not json')).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });

    // still up: a real review is judged, without a bearer token as the API server sends it
    const body = review('pod');
    podSpecOf(body).initContainers[0].ports[0].containerPort = 20010;
    const refused = await post(JSON.stringify(body));
    expect(refused.status).toBe(200);
    expect(refused.body.response).toMatchObject({ uid: body.request.uid, allowed: false, status: { code: 403 } });
    expect(refused.body.response.status.message).toContain('port_conflict: containerPort 20010/tcp is registered to orders/api in prod');
    expect(authority.child.exitCode).toBeNull();
    expect(authority.log()).toContain('"msg":"admission review failed"');
    expect(authority.log()).toContain('"msg":"admission refused"');
  } finally {
    await agent.close();
  }
});
