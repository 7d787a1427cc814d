import { expect, it } from 'vitest';
import { routeFactories } from '../../src/authority/routes.ts';
import { issueBody, startTestAuthority, testAdminToken, type TestAuthority } from '../helpers/authority.ts';
import { runPortwarden } from '../helpers/cli.ts';
import { requestPort } from '../helpers/register.ts';

/** Every route of the API, with its parameters filled in from what `t` holds. */
async function everyRoute(t: TestAuthority) {
  const port = (await requestPort(t, { env: 'prod' })).body;
  const lid = (await t.api('POST', '/v1/licenses', { body: issueBody() })).body.lid as string;
  const values: Record<string, string> = { id: port.id, lid, file: 'app.js', service: 'payments', name: 'api' };
  return routeFactories
    .flatMap((factory) => factory(t.authority.context))
    .map((route) => ({ ...route, url: route.path.replace(/\{(\w+)\}/g, (_, key: string) => encodeURIComponent(values[key] ?? 'x')) }));
}

it('a viewer token, made with the CLI, reads everything an admin reads and is refused every change with 403 forbidden', async () => {
  const t = await startTestAuthority({ config: { register: { approval: 'manual' } } });
  const created = await runPortwarden(['tokens', 'create', '--role', 'viewer', '--name', 'dashboard', '--format', 'json', '--authority', t.url], { PORTWARDEN_TOKEN: testAdminToken });
  expect([created.code, created.stderr]).toEqual([0, '']);
  const viewer = JSON.parse(created.stdout) as { token: string; role: string; service: string | null };
  expect(viewer).toMatchObject({ role: 'viewer', service: null });

  const routes = await everyRoute(t);
  const auditBefore = (await t.api('GET', '/v1/audit')).body.entries.length;
  const reads = routes.filter((route) => route.method === 'GET' && route.access !== 'public');
  // public routes (the admission webhook) change nothing and need no token at all
  const writes = routes.filter((route) => route.method !== 'GET' && route.access !== 'public');
  expect(reads.length).toBeGreaterThanOrEqual(18);
  expect(writes.length).toBeGreaterThanOrEqual(18);

  // what the admin gets, the viewer gets
  for (const route of reads) {
    const [asAdmin, asViewer] = [await t.api('GET', route.url), await t.api('GET', route.url, { token: viewer.token })];
    expect([route.path, asViewer.status], `viewer GET ${route.url}`).toEqual([route.path, asAdmin.status]);
    expect(asViewer.status, `viewer GET ${route.url}`).not.toBe(403);
  }
  // every write, with a body that would otherwise be accepted or not: refused before it is read
  for (const route of writes) {
    const answer = await t.api(route.method, route.url, { token: viewer.token, body: {} });
    expect([route.method, route.path, answer.status, answer.body.error?.code]).toEqual([route.method, route.path, 403, 'forbidden']);
  }
  const refused = await t.api('POST', '/v1/licenses', { token: viewer.token, body: issueBody() });
  expect(refused.body.error).toEqual({ code: 'forbidden', message: 'a viewer token only reads; this needs an admin token' });
  // nothing changed
  expect((await t.api('GET', '/v1/audit')).body.entries.length).toBe(auditBefore);
  expect((await t.api('GET', '/v1/ports', { token: viewer.token })).body.ports.map((p: { state: string }) => p.state)).toEqual(['requested']);

  // a viewer is not scoped to a service, and its CLI refusals read as such
  const scoped = await t.api('POST', '/v1/tokens', { body: { role: 'viewer', service: 'payments' } });
  expect(scoped.body.error).toEqual({ code: 'bad_request', message: 'service: a viewer token is not scoped to a service' });
  const approve = await runPortwarden(['ports', 'approve', 'payments/api', '--env', 'prod', '--authority', t.url], { PORTWARDEN_TOKEN: viewer.token });
  expect([approve.code, approve.stderr.trim()]).toEqual([1, 'portwarden ports: forbidden: a viewer token only reads; this needs an admin token']);
});

it('GET /v1/whoami tells each token who it is, and a missing or revoked one that it is not', async () => {
  const t = await startTestAuthority();
  const viewer = (await t.api('POST', '/v1/tokens', { body: { role: 'viewer', name: 'dashboard' } })).body;
  const sidecar = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body;
  expect((await t.api('GET', '/v1/whoami')).body).toEqual({ id: 'env-admin', name: 'PORTWARDEN_ADMIN_TOKEN', role: 'admin', service: null });
  expect((await t.api('GET', '/v1/whoami', { token: viewer.token })).body).toEqual({ id: viewer.id, name: 'dashboard', role: 'viewer', service: null });
  expect((await t.api('GET', '/v1/whoami', { token: sidecar.token })).body).toEqual({ id: sidecar.id, name: null, role: 'sidecar', service: 'payments' });
  expect((await t.api('GET', '/v1/whoami', { token: null })).body.error.code).toBe('unauthenticated');
  await t.api('POST', `/v1/tokens/${viewer.id}/revoke`, { body: {} });
  const revoked = await t.api('GET', '/v1/whoami', { token: viewer.token });
  expect([revoked.status, revoked.body.error.code]).toEqual([401, 'unauthenticated']);
  expect((await t.api('GET', '/v1/whoami?x=1')).body.error.code).toBe('bad_request');
});

it('a sidecar token still reads only its own service: the change feed, tokens and the audit log are not its to read', async () => {
  const t = await startTestAuthority();
  const sidecar = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token;
  for (const path of ['/v1/changes', '/v1/tokens', '/v1/audit', '/v1/keys', '/v1/licenses?service=orders']) {
    const answer = await t.api('GET', path, { token: sidecar });
    expect([path, answer.status, answer.body.error?.code]).toEqual([path, 403, 'forbidden']);
  }
  expect((await t.api('GET', '/v1/ports/policy', { token: sidecar })).status).toBe(200);
});
