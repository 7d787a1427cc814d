import { expect, it } from 'vitest';
import { startTestAuthority } from '../helpers/authority.ts';
import { portPath, requestPort } from '../helpers/register.ts';

it('requests a port with auto approval: active at once with a stable number, shown by id and by service/name, audited', async () => {
  const t = await startTestAuthority();
  const created = await requestPort(t, { env: 'prod', owner: 'team-payments', depends_on: ['billing/api'] });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    service: 'payments',
    name: 'api',
    env: 'prod',
    protocol: 'tcp',
    kind: 'static',
    state: 'active',
    owner: 'team-payments',
    dependencies: ['billing/api'],
    approved_by: 'policy',
    created_by: 'env-admin',
    transition: null,
    licenses: [],
    allocation: { source: 'hash', range: 'default' },
  });
  const { id, number } = created.body;
  expect(number).toBeGreaterThanOrEqual(20000);
  expect(number).toBeLessThanOrEqual(29999);

  const byId = await t.api('GET', `/v1/ports/${id}`);
  const byName = await t.api('GET', portPath('payments/api', '', 'prod'));
  expect(byId.body).toMatchObject({ id, number, state: 'active' });
  expect(byName.body).toEqual(byId.body);
  expect((await t.api('GET', portPath('payments/api'))).status).toBe(404); // env default has none

  const listed = await t.api('GET', '/v1/ports?env=prod');
  expect(listed.body.ports.map((p: { id: string }) => p.id)).toEqual([id]);
  expect((await t.api('GET', '/v1/ports?env=staging')).body.ports).toEqual([]);

  const again = await requestPort(t, { env: 'prod' });
  expect([again.status, again.body.error.code]).toEqual([409, 'conflict']);
  expect(again.body.error.message).toContain('already registered');

  const audit = (await t.api('GET', `/v1/audit?target=port/${id}`)).body.entries;
  expect(audit.map((e: { action: string; actor: string }) => [e.action, e.actor])).toEqual([['port.request', 'env-admin']]);
  expect(audit[0].after).toMatchObject({ state: 'active', number, approval: 'auto' });
});

it('answers discovery for any token, and reads of the register for the sidecar token of the service only', async () => {
  const t = await startTestAuthority();
  const port = (await requestPort(t, { env: 'prod', owner: 'team-payments', license: { allow: ['spiffe://corp/ns/billing/sa/api'] } })).body;
  const other = (await requestPort(t, { service: 'orders', name: 'grpc', env: 'prod' })).body;
  const payments = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token;
  const orders = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'orders' } })).body.token;

  const found = await t.api('GET', '/v1/discover/payments/api?env=prod', { token: orders });
  expect(found.status).toBe(200);
  expect(found.body).toEqual({
    id: port.id,
    service: 'payments',
    name: 'api',
    env: 'prod',
    protocol: 'tcp',
    kind: 'static',
    number: port.number,
    transition: null,
    state: 'active',
    owner: 'team-payments',
    licenses: [port.licenses[0].lid],
  });
  const missing = await t.api('GET', '/v1/discover/payments/api?env=staging', { token: orders });
  expect([missing.status, missing.body.error.code]).toEqual([404, 'not_found']);
  expect((await t.api('GET', '/v1/discover/payments/api', { token: null })).status).toBe(401);

  // a sidecar token lists its own service's ports (by default) and no other's
  expect((await t.api('GET', '/v1/ports', { token: payments })).body.ports.map((p: { id: string }) => p.id)).toEqual([port.id]);
  expect((await t.api('GET', '/v1/ports?service=orders', { token: payments })).status).toBe(403);
  expect((await t.api('GET', `/v1/ports/${other.id}`, { token: payments })).status).toBe(403);
  expect((await t.api('GET', portPath('orders/grpc', '', 'prod'), { token: payments })).status).toBe(403);
  expect((await t.api('GET', `/v1/ports/${port.id}`, { token: payments })).status).toBe(200);
  // and writes nothing
  const write = await t.api('POST', '/v1/ports', { token: payments, body: { service: 'payments', name: 'admin' } });
  expect([write.status, write.body.error.code]).toEqual([403, 'forbidden']);
  expect((await t.api('POST', `/v1/ports/${port.id}/release`, { token: payments, body: {} })).status).toBe(403);
});

it('refuses malformed requests by key', async () => {
  const t = await startTestAuthority();
  const bad = await requestPort(t, { service: 'Payments!', number: 70000, depends_on: ['billing'], colour: 'red' });
  expect([bad.status, bad.body.error.code]).toEqual([400, 'bad_request']);
  for (const key of ['service', 'number', 'depends_on[0]', 'colour']) expect(bad.body.error.message).toContain(key);
  expect((await t.api('GET', '/v1/ports/not%20a%20ref')).body.error.code).toBe('bad_request');
  expect((await t.api('GET', '/v1/ports/12?env=prod')).body.error.code).toBe('bad_request');
  expect((await t.api('GET', '/v1/ports/12')).status).toBe(404);
  const transition = await t.api('POST', '/v1/ports/1/transition', { body: { to: 20001, window: 'soon' } });
  expect(transition.body.error).toMatchObject({ code: 'bad_request', message: expect.stringContaining('window') });
});

it('exports the register as a snapshot `check --register` reads, with the policy as configured', async () => {
  const t = await startTestAuthority({ config: { register: { ranges: [{ name: 'pg', from: 25000, to: 25099, services: ['postgres-*'] }, { name: 'default', from: 20000, to: 29999 }] } } });
  await requestPort(t, { env: 'prod' });
  await requestPort(t, { service: 'postgres-main', name: 'sql', env: 'prod' });
  const snapshot = (await t.api('GET', '/v1/ports/export')).body;
  expect(snapshot).toMatchObject({
    version: 1,
    exported_at: new Date(t.clock.now()).toISOString(),
    policy: {
      reserved: ['1-1023', '2379-2380', '6443', '10250-10259', '30000-32767'],
      ranges: [{ name: 'pg', from: 25000, to: 25099, services: ['postgres-*'] }, { name: 'default', from: 20000, to: 29999 }],
      reuse_cooldown: '1d',
    },
  });
  expect(snapshot.ports.map((p: { service: string }) => p.service)).toEqual(['payments', 'postgres-main']);
  expect(snapshot.ports[1].number).toBeGreaterThanOrEqual(25000);
  expect(snapshot.ports[1].number).toBeLessThanOrEqual(25099);
  const { snapshotSchema } = await import('../../src/register/snapshot.ts');
  expect(snapshotSchema.safeParse(snapshot).success).toBe(true);

  // as the README says: any valid token reads it (a pipeline's, scoped to another service);
  // changing the register stays admin-only, and no token reads nothing
  const orders = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'orders' } })).body.token;
  const asOrders = await t.api('GET', '/v1/ports/export', { token: orders });
  expect([asOrders.status, asOrders.body.ports]).toEqual([200, snapshot.ports]);
  expect((await t.api('POST', '/v1/ports', { token: orders, body: { service: 'orders', name: 'api' } })).body.error.code).toBe('forbidden');
  expect((await t.api('GET', '/v1/ports/export', { token: null })).status).toBe(401);
});

it('checks a list of definitions against the live register (POST /v1/check)', async () => {
  const t = await startTestAuthority();
  const payments = (await requestPort(t, { env: 'prod' })).body;
  const sidecar = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'orders' } })).body.token;
  const answer = await t.api('POST', '/v1/check', {
    token: sidecar,
    body: {
      env: 'prod',
      ports: [
        { service: 'payments', name: 'api', number: payments.number, source: 'payments.yaml', line: 4 },
        { service: 'orders', name: 'grpc', number: payments.number, field: 'containerPort', source: 'orders.k8s.yaml', line: 12 },
        { service: 'orders', name: 'admin', number: 443 },
        { service: 'orders', name: 'debug', number: 40000, field: 'containerPort' },
      ],
    },
  });
  expect(answer.status).toBe(200);
  expect(answer.body.ports).toBe(4);
  expect(answer.body.findings.map((f: { file: string; line: number; rule: string }) => [f.file, f.line, f.rule])).toEqual([
    ['orders.k8s.yaml', 12, 'port_conflict'],
    ['orders.k8s.yaml', 12, 'duplicate_in_inputs'],
    ['request', 3, 'reserved_port'],
    ['request', 4, 'out_of_range'],
  ]);
  expect(answer.body.findings[0].message).toBe(`containerPort ${payments.number}/tcp is registered to payments/api in prod`);
  const clean = await t.api('POST', '/v1/check', { body: { env: 'prod', ports: [{ service: 'payments', name: 'api', number: payments.number }] } });
  expect(clean.body.findings).toEqual([]);
});

it('lists the listeners sidecars reported that the register lacks (GET /v1/ports?unregistered=1)', async () => {
  const t = await startTestAuthority();
  const port = (await requestPort(t, { env: 'prod' })).body;
  const token = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token;
  const listeners = [
    { protocol: 'tcp', address: '0.0.0.0', port: port.number },
    { protocol: 'tcp', address: '0.0.0.0', port: 9000 },
  ];
  expect((await t.api('POST', '/v1/inventory', { token, body: { listeners } })).status).toBe(200);
  const answer = await t.api('GET', '/v1/ports?unregistered=1&service=payments');
  expect(answer.body.unregistered.map((l: { port: number }) => l.port)).toEqual([9000]);
  expect((await t.api('GET', '/v1/ports?unregistered=1', { token })).status).toBe(403);
  expect((await t.api('GET', '/v1/ports?unregistered=1&stale=1')).body.error.code).toBe('bad_request');
});
