import { expect, it } from 'vitest';
import { issueBody, startTestAuthority } from '../helpers/authority.ts';
import { requestPort } from '../helpers/register.ts';

const hour = 3_600_000;

it('GET /v1/ports/policy answers the register policy the authority runs with', async () => {
  const t = await startTestAuthority({
    config: {
      register: {
        approval: 'manual',
        reserved: ['1-1023', '6443'],
        ranges: [
          { name: 'default', from: 20000, to: 29999 },
          { name: 'databases', from: 15000, to: 15099, services: ['postgres-*'], envs: ['prod'] },
        ],
        stale_after: '7d',
        reuse_cooldown: '12h',
      },
    },
  });
  const sidecar = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token;
  const policy = await t.api('GET', '/v1/ports/policy', { token: sidecar });
  expect(policy.body).toEqual({
    approval: 'manual',
    reserved: [
      { from: 1, to: 1023 },
      { from: 6443, to: 6443 },
    ],
    ranges: [
      { name: 'default', from: 20000, to: 29999, services: null, envs: null },
      { name: 'databases', from: 15000, to: 15099, services: ['postgres-*'], envs: ['prod'] },
    ],
    stale_after: '7d',
    reuse_cooldown: '12h',
  });
  expect((await t.api('GET', '/v1/ports/policy?env=prod')).body.error.code).toBe('bad_request');
});

it('GET /v1/ports/numbers lists every number held or cooling down, with its state, its port and until when', async () => {
  const t = await startTestAuthority({ config: { register: { approval: 'manual', reuse_cooldown: '24h' } } });
  const numbers = async (query = '') => (await t.api('GET', `/v1/ports/numbers${query}`)).body;
  expect(await numbers()).toEqual({ at: '2026-01-01T12:00:00.000Z', numbers: [] });

  const api = (await requestPort(t, { env: 'prod', number: 20001 })).body;
  const grpc = (await requestPort(t, { name: 'grpc', env: 'prod', number: 20002 })).body;
  const staging = (await requestPort(t, { env: 'staging', number: 20001 })).body;
  await requestPort(t, { service: 'orders', name: 'old', env: 'prod', number: 20003 });
  const rejected = (await requestPort(t, { service: 'fraud', name: 'score', env: 'prod', number: 20004 })).body;
  const old = (await t.api('GET', '/v1/ports?service=orders')).body.ports[0];
  await t.api('POST', `/v1/ports/${api.id}/approve`, { body: {} });
  await t.api('POST', `/v1/ports/${grpc.id}/approve`, { body: {} });
  await t.api('POST', `/v1/ports/${old.id}/approve`, { body: {} });
  await t.api('POST', `/v1/ports/${rejected.id}/reject`, { body: {} });
  await t.api('POST', `/v1/ports/${grpc.id}/transition`, { body: { to: 20050, window: '1h' } });
  await t.api('POST', `/v1/ports/${old.id}/release`, { body: {} });

  const port = (p: { id: string; service: string; name: string }) => ({ id: p.id, service: p.service, name: p.name });
  const prod = [
    { env: 'prod', protocol: 'tcp', number: 20001, state: 'assigned', port: port(api), until: null },
    { env: 'prod', protocol: 'tcp', number: 20002, state: 'transitioning', port: port(grpc), until: '2026-01-01T13:00:00.000Z' },
    { env: 'prod', protocol: 'tcp', number: 20003, state: 'cooldown', port: port(old), until: '2026-01-02T12:00:00.000Z' },
    { env: 'prod', protocol: 'tcp', number: 20050, state: 'transitioning', port: port(grpc), until: '2026-01-01T13:00:00.000Z' },
  ];
  const pending = { env: 'staging', protocol: 'tcp', number: 20001, state: 'requested', port: port(staging), until: null };
  expect((await numbers()).numbers).toEqual([...prod, pending]);
  expect((await numbers('?env=staging')).numbers).toEqual([pending]);

  // a cool-down that ended is free again; a completed transition leaves its old number cooling down
  t.clock.advance(25 * hour);
  expect((await t.api('POST', `/v1/ports/${grpc.id}/transition/complete`, { body: {} })).status).toBe(200);
  const later = (await numbers('?env=prod')).numbers.map((n: { number: number; state: string }) => [n.number, n.state]);
  expect(later).not.toContainEqual([20003, 'cooldown']);
  expect(later).toContainEqual([20001, 'assigned']);
  expect(later).toContainEqual([20050, 'assigned']);
  expect(later).toContainEqual([20002, 'cooldown']);
  expect((await t.api('GET', '/v1/ports/numbers?env=Prod!')).body.error.code).toBe('bad_request');
});

it('GET /v1/licenses?state=all names the licenses at risk and when each renew window opens', async () => {
  const t = await startTestAuthority({ config: { licenses: { ttl: '1h', renew_before: '10m' } } });
  const never = (await t.api('POST', '/v1/licenses', { body: issueBody({ port_name: 'never', renew: 'never', ttl: undefined }) })).body;
  const always = (await t.api('POST', '/v1/licenses', { body: issueBody({ port_name: 'always', renew: 'always', ttl: undefined }) })).body;
  const idle = (await t.api('POST', '/v1/licenses', { body: issueBody({ port_name: 'idle', renew: 'auto', ttl: undefined }) })).body;
  const all = async () => (await t.api('GET', '/v1/licenses?state=all')).body;
  const windowOpens = new Date(Date.parse(never.expires_at) - 10 * 60_000).toISOString();
  expect(await all()).toMatchObject({ at_risk: [], renew_at: { [never.lid]: windowOpens, [always.lid]: windowOpens, [idle.lid]: windowOpens } });

  t.clock.advance(51 * 60_000); // inside the window: `always` will be renewed, the others lapse unless someone acts
  expect((await all()).at_risk.sort()).toEqual([never.lid, idle.lid].sort());
  await t.api('POST', `/v1/licenses/${idle.lid}/revoke`, { body: {} });
  expect((await all()).at_risk).toEqual([never.lid]);
  t.clock.advance(10 * 60_000); // past exp: lapsed, no longer at risk
  expect(await all()).toMatchObject({ at_risk: [], renew_at: {} });
});
