import { expect, it } from 'vitest';
import { startTestAuthority } from '../helpers/authority.ts';
import { portPath, requestPort } from '../helpers/register.ts';

const ranges = [
  { name: 'pg', from: 25000, to: 25099, services: ['postgres-*'] },
  { name: 'prod-only', from: 26000, to: 26099, envs: ['prod'] },
  { name: 'default', from: 20000, to: 20999 },
];

/** A refusal as the API answers it: status, code, and the rule named in the message. */
function refusal(answer: { status: number; body: { error: { code: string; message: string } } }) {
  const rule = /^refused by rule (\w+): /.exec(answer.body.error.message)?.[1];
  return { status: answer.status, code: answer.body.error.code, rule };
}

it('refuses a reserved number by rule `reserved`, whatever the ranges say', async () => {
  const t = await startTestAuthority({ config: { register: { ranges: [{ name: 'wide', from: 1, to: 65535 }] } } });
  for (const number of [443, 2379, 6443, 10250, 30080]) {
    const answer = await requestPort(t, { name: `p${number}`, number });
    expect(refusal(answer)).toEqual({ status: 409, code: 'port_reserved', rule: 'reserved' });
  }
  expect((await requestPort(t, { name: 'p443', number: 443 })).body.error.message).toBe('refused by rule reserved: 443 is reserved (reserved 1-1023) and never assigned');
  // nothing was written
  expect((await t.api('GET', '/v1/ports')).body.ports).toEqual([]);
});

it('refuses by rule `out_of_range` outside every range, in a range limited to other services, and in one limited to other envs', async () => {
  const t = await startTestAuthority({ config: { register: { ranges } } });
  const outside = await requestPort(t, { number: 40000, env: 'prod' });
  expect(refusal(outside)).toEqual({ status: 409, code: 'port_out_of_range', rule: 'out_of_range' });
  expect(outside.body.error.message).toContain('40000 is outside every range open to payments in prod');

  const serviceGlob = await requestPort(t, { number: 25010, env: 'prod' });
  expect(refusal(serviceGlob)).toEqual({ status: 409, code: 'port_out_of_range', rule: 'out_of_range' });
  expect(serviceGlob.body.error.message).toContain('25010 is in range pg 25000-25099, which is limited to services postgres-*; not payments in prod');

  const envLimited = await requestPort(t, { number: 26010, env: 'staging' });
  expect(refusal(envLimited)).toEqual({ status: 409, code: 'port_out_of_range', rule: 'out_of_range' });
  expect(envLimited.body.error.message).toContain('limited to envs prod; not payments in staging');

  // the same numbers are fine for whom the ranges are open
  expect((await requestPort(t, { service: 'postgres-main', name: 'sql', number: 25010, env: 'prod' })).status).toBe(201);
  expect((await requestPort(t, { number: 26010, env: 'prod' })).status).toBe(201);
  // and a service matching the glob is allocated inside its range, not the default one
  const pg = await requestPort(t, { service: 'postgres-replica', name: 'sql', env: 'staging' });
  expect(pg.body.allocation).toEqual({ source: 'hash', range: 'pg' });
});

it('refuses a number held by another port by rule `taken`, per env and protocol', async () => {
  const t = await startTestAuthority();
  expect((await requestPort(t, { number: 20001, env: 'prod' })).status).toBe(201);
  const taken = await requestPort(t, { service: 'orders', name: 'grpc', number: 20001, env: 'prod' });
  expect(refusal(taken)).toEqual({ status: 409, code: 'port_taken', rule: 'taken' });
  expect(taken.body.error.message).toBe('refused by rule taken: 20001/tcp is taken by payments/api in prod');
  // another env, or the udp space, is free
  expect((await requestPort(t, { service: 'orders', name: 'grpc', number: 20001, env: 'staging' })).status).toBe(201);
  expect((await requestPort(t, { service: 'orders', name: 'dns', number: 20001, env: 'prod', protocol: 'udp' })).status).toBe(201);
});

it('refuses a released number to other ports by rule `cooldown` until reuse_cooldown has passed', async () => {
  const t = await startTestAuthority({ config: { register: { reuse_cooldown: '24h' } } });
  const first = (await requestPort(t, { number: 20001, env: 'prod' })).body;
  t.clock.advance(60_000);
  expect((await t.api('POST', `/v1/ports/${first.id}/release`, { body: { reason: 'moved to orders' } })).body.state).toBe('released');

  t.clock.advance(24 * 3_600_000 - 1);
  const cooling = await requestPort(t, { service: 'orders', name: 'grpc', number: 20001, env: 'prod' });
  expect(refusal(cooling)).toEqual({ status: 409, code: 'port_taken', rule: 'cooldown' });
  expect(cooling.body.error.message).toContain('was released by payments/api at 2026-01-01T12:01:00.000Z and is free again at 2026-01-02T12:01:00.000Z');
  // the hash never lands on a cooling number either
  const allocated = await requestPort(t, { service: 'orders', name: 'grpc', env: 'prod' });
  expect(allocated.body.number).not.toBe(20001);

  t.clock.advance(1); // the instant the cool-down ends, the number is free
  const reused = await requestPort(t, { service: 'orders', name: 'web', number: 20001, env: 'prod' });
  expect([reused.status, reused.body.number]).toEqual([201, 20001]);
});

it('refuses with `range_exhausted` when every number is reserved, taken or cooling', async () => {
  const t = await startTestAuthority({ config: { register: { ranges: [{ name: 'tiny', from: 20000, to: 20001 }] } } });
  expect((await requestPort(t, { name: 'a' })).status).toBe(201);
  expect((await requestPort(t, { name: 'b' })).status).toBe(201);
  const full = await requestPort(t, { name: 'c' });
  expect(refusal(full)).toEqual({ status: 409, code: 'range_exhausted', rule: 'exhausted' });
  expect(full.body.error.message).toContain('every number of tiny 20000-20001 is reserved, taken or cooling down');
});

it('checks the number again on approval and on a transition', async () => {
  const t = await startTestAuthority({ config: { register: { approval: 'manual' } } });
  const pending = (await requestPort(t, { number: 20001, env: 'prod' })).body;
  expect(pending.state).toBe('requested');
  // a pending request holds its number: nobody else can take it before approval
  const other = await requestPort(t, { service: 'orders', name: 'grpc', number: 20001, env: 'prod' });
  expect(refusal(other)).toEqual({ status: 409, code: 'port_taken', rule: 'taken' });
  const active = (await t.api('POST', portPath('payments/api', 'approve', 'prod'), { body: {} })).body;
  expect(active.state).toBe('active');
  const twice = await t.api('POST', `/v1/ports/${active.id}/reject`, { body: {} });
  expect([twice.status, twice.body.error]).toEqual([409, { code: 'conflict', message: 'a port cannot go from active to rejected (from active only to transitioning or released)' }]);
  await t.api('POST', `/v1/ports/${(await requestPort(t, { service: 'orders', name: 'grpc', number: 20002, env: 'prod' })).body.id}/approve`, { body: {} });
  const onto = await t.api('POST', `/v1/ports/${active.id}/transition`, { body: { to: 20002, window: '1h' } });
  expect(refusal(onto)).toEqual({ status: 409, code: 'port_taken', rule: 'taken' });
  const reserved = await t.api('POST', `/v1/ports/${active.id}/transition`, { body: { to: 6443, window: '1h' } });
  expect(refusal(reserved)).toEqual({ status: 409, code: 'port_reserved', rule: 'reserved' });
});
