import { describe, expect, it } from 'vitest';
import { Constraints, constraintRules, refusalError, type NumberRequest } from '../../../src/register/constraints.ts';
import type { NumberUse } from '../../../src/register/number-use.ts';
import { defaultPolicy, type RegisterPolicy } from '../../../src/register/policy.ts';
import { ManualClock } from '../../../src/shared/clock.ts';

const hour = 3_600_000;
const policy: RegisterPolicy = {
  reserved: [
    { from: 1, to: 1023 },
    { from: 6443, to: 6443 },
    { from: 30000, to: 32767 },
  ],
  ranges: [
    { name: 'postgres', from: 25000, to: 25099, services: ['postgres-*'] },
    { name: 'prod-only', from: 26000, to: 26099, envs: ['prod'] },
    { name: 'default', from: 20000, to: 24999 },
  ],
  reuseCooldownMs: 24 * hour,
};
const ask = (number: number, extra: Partial<NumberRequest> = {}): NumberRequest => ({
  service: 'payments',
  name: 'api',
  env: 'prod',
  protocol: 'tcp',
  number,
  ...extra,
});
const held = (number: number, extra: Partial<NumberUse> = {}): NumberUse => ({ service: 'billing', name: 'api', env: 'prod', protocol: 'tcp', number, ...extra });

describe('constraints', () => {
  it('has a closed list of rules', () => {
    expect(constraintRules).toEqual(['reserved', 'out_of_range', 'taken', 'cooldown']);
  });

  it('admits a free number in a range open to the request and names the range', () => {
    expect(new Constraints(policy, [], 0).check(ask(20001))).toEqual({ ok: true, range: 'default' });
  });

  it('refuses a reserved number, naming the reserved span, before any range rule', () => {
    const c = new Constraints(policy, [], 0);
    expect(c.check(ask(6443))).toEqual({
      ok: false,
      rule: 'reserved',
      reserved: { from: 6443, to: 6443 },
      message: '6443 is reserved (reserved 6443) and never assigned',
    });
    expect(c.check(ask(30080))).toMatchObject({ rule: 'reserved', reserved: { from: 30000, to: 32767 } });
  });

  it('limits a range to services matching its globs', () => {
    const c = new Constraints(policy, [], 0);
    expect(c.check(ask(25001, { service: 'postgres-orders' }))).toEqual({ ok: true, range: 'postgres' });
    expect(c.check(ask(25001, { service: 'payments' }))).toEqual({
      ok: false,
      rule: 'out_of_range',
      ranges: ['prod-only', 'default'],
      message: '25001 is in range postgres 25000-25099, which is limited to services postgres-*; not payments in prod',
    });
    // a glob matches the whole name, not a part of it
    expect(c.check(ask(25001, { service: 'my-postgres-x' }))).toMatchObject({ ok: false, rule: 'out_of_range' });
  });

  it('limits a range to environments', () => {
    const c = new Constraints(policy, [], 0);
    expect(c.check(ask(26001, { env: 'prod' }))).toEqual({ ok: true, range: 'prod-only' });
    expect(c.check(ask(26001, { env: 'staging' }))).toMatchObject({ ok: false, rule: 'out_of_range', ranges: ['default'] });
  });

  it('refuses a number outside every range, listing the ranges that are open', () => {
    expect(new Constraints(policy, [], 0).check(ask(8080, { env: 'staging' }))).toEqual({
      ok: false,
      rule: 'out_of_range',
      ranges: ['default'],
      message: '8080 is outside every range open to payments in staging (default 20000-24999)',
    });
    const closed: RegisterPolicy = { ...policy, ranges: [{ name: 'pg', from: 25000, to: 25099, services: ['postgres-*'] }] };
    expect(new Constraints(closed, [], 0).check(ask(8080))).toMatchObject({ rule: 'out_of_range', ranges: [], message: 'no range is open to payments in prod' });
  });

  it('refuses a number another port holds, naming it', () => {
    expect(new Constraints(policy, [held(20001)], 0).check(ask(20001))).toEqual({
      ok: false,
      rule: 'taken',
      by: { service: 'billing', name: 'api', env: 'prod', protocol: 'tcp' },
      message: '20001/tcp is taken by billing/api in prod',
    });
  });

  it('keeps tcp and udp, and environments, apart', () => {
    const c = new Constraints(policy, [held(20001, { protocol: 'udp' }), held(20002, { env: 'staging' })], 0);
    expect(c.check(ask(20001))).toEqual({ ok: true, range: 'default' });
    expect(c.check(ask(20001, { protocol: 'udp' }))).toMatchObject({ rule: 'taken', message: '20001/udp is taken by billing/api in prod' });
    expect(c.check(ask(20002))).toEqual({ ok: true, range: 'default' });
  });

  it('never counts a port against itself, but does count the same service under another name', () => {
    const c = new Constraints(policy, [held(20001, { service: 'payments', name: 'api' }), held(20002, { service: 'payments', name: 'metrics' })], 0);
    expect(c.check(ask(20001))).toEqual({ ok: true, range: 'default' });
    expect(c.check(ask(20002))).toMatchObject({ rule: 'taken', by: { service: 'payments', name: 'metrics' } });
  });

  it('cools a released number down until exactly release + reuse_cooldown', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const releasedAt = clock.now();
    const uses = [held(20001, { releasedAt })];
    clock.advance(24 * hour - 1);
    expect(new Constraints(policy, uses, clock.now()).check(ask(20001))).toEqual({
      ok: false,
      rule: 'cooldown',
      by: { service: 'billing', name: 'api', env: 'prod', protocol: 'tcp' },
      releasedAt,
      freeAt: releasedAt + 24 * hour,
      message: '20001/tcp was released by billing/api at 2026-01-01T00:00:00.000Z and is free again at 2026-01-02T00:00:00.000Z',
    });
    clock.advance(1);
    expect(new Constraints(policy, uses, clock.now()).check(ask(20001))).toEqual({ ok: true, range: 'default' });
  });

  it('lets a port take back its own released number at once', () => {
    const uses = [held(20001, { service: 'payments', releasedAt: 0 })];
    expect(new Constraints(policy, uses, 1).check(ask(20001))).toEqual({ ok: true, range: 'default' });
  });

  it('turns refusals into errors with the matching code, naming the rule', () => {
    const c = new Constraints(policy, [held(20001), held(20002, { releasedAt: 0 })], 1);
    const codes = [ask(80), ask(8080), ask(20001), ask(20002)].map((request) => {
      const result = c.check(request);
      return result.ok ? 'ok' : refusalError(result).code;
    });
    expect(codes).toEqual(['port_reserved', 'port_out_of_range', 'port_taken', 'port_taken']);
    const result = c.check(ask(20002));
    expect(result.ok ? undefined : refusalError(result)).toMatchObject({ rule: 'cooldown', message: expect.stringMatching(/^refused by rule cooldown: /) });
  });

  it('uses the authority defaults when no policy is configured', () => {
    const c = new Constraints(defaultPolicy(), [], 0);
    expect(defaultPolicy().reuseCooldownMs).toBe(24 * hour);
    expect([1023, 2379, 6443, 10255, 30000, 20000, 29999, 19999].map((n) => c.check(ask(n)).ok || (c.check(ask(n)) as { rule: string }).rule)).toEqual([
      'reserved',
      'reserved',
      'reserved',
      'reserved',
      'reserved',
      true,
      true,
      'out_of_range',
    ]);
  });
});
