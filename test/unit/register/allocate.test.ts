import { describe, expect, it } from 'vitest';
import { allocate, type AllocationRequest, type AllocationResult } from '../../../src/register/allocate.ts';
import { refusalError } from '../../../src/register/constraints.ts';
import { usesFromRecords, type NumberUse } from '../../../src/register/number-use.ts';
import { defaultPolicy, type RegisterPolicy } from '../../../src/register/policy.ts';
import { portRecordSchema } from '../../../src/register/port-record.ts';

const now = Date.UTC(2026, 0, 1);
const req = (ref: string, extra: Partial<AllocationRequest> = {}): AllocationRequest => {
  const [service = '', name = ''] = ref.split('/');
  return { service, name, env: 'prod', protocol: 'tcp', ...extra };
};

/** Allocates one request after another, each seeing the numbers given before it. */
function allocateAll(requests: readonly AllocationRequest[], policy: RegisterPolicy, uses: NumberUse[] = []): Record<string, AllocationResult> {
  const out: Record<string, AllocationResult> = {};
  for (const request of requests) {
    const result = allocate(request, policy, uses, now);
    out[`${request.service}/${request.name}@${request.env}/${request.protocol}`] = result;
    if (result.ok) uses.push({ ...request, number: result.number });
  }
  return out;
}
const numbers = (results: Record<string, AllocationResult>) =>
  Object.fromEntries(Object.entries(results).map(([key, result]) => [key, result.ok ? result.number : result.rule]));

const tiny: RegisterPolicy = { reserved: [], ranges: [{ name: 'tiny', from: 20000, to: 20009 }], reuseCooldownMs: 3_600_000 };

describe('stable allocation', () => {
  const requests = ['payments/api', 'billing/api', 'orders/grpc', 'search/http'].map((ref) => req(ref));

  it('hashes service/name into the default range: these numbers are a compatibility promise', () => {
    expect(numbers(allocateAll(requests, defaultPolicy()))).toEqual({
      'payments/api@prod/tcp': 29824,
      'billing/api@prod/tcp': 20020,
      'orders/grpc@prod/tcp': 22258,
      'search/http@prod/tcp': 29675,
    });
  });

  it('gives the same numbers whatever the order of the requests', () => {
    const forward = numbers(allocateAll(requests, defaultPolicy()));
    const backward = numbers(allocateAll([...requests].reverse(), defaultPolicy()));
    const shuffled = numbers(allocateAll([requests[2], requests[0], requests[3], requests[1]].map((r) => r!), defaultPolicy()));
    expect(backward).toEqual(forward);
    expect(shuffled).toEqual(forward);
  });

  it('gives a fresh allocator over the stored records the same numbers (a restart changes nothing)', () => {
    const first = allocateAll(requests, defaultPolicy());
    const records = Object.values(first).map((result, i) =>
      portRecordSchema.parse({
        ...requests[i],
        id: `p${i}`,
        number: result.ok ? result.number : null,
        owner: 'ops',
        state: 'active',
        created_at: '2026-01-01T00:00:00Z',
        created_by: 'ops',
      }),
    );
    const again = requests.map((request) => allocate(request, defaultPolicy(), usesFromRecords(records), now));
    expect(again.map((result) => result.ok && result.source)).toEqual(['existing', 'existing', 'existing', 'existing']);
    expect(again.map((result) => result.ok && result.number)).toEqual(Object.values(numbers(first)));
    // a new port asked twice of two fresh allocators over the same records lands on the same number
    const newcomer = req('ledger/api');
    expect(allocate(newcomer, defaultPolicy(), usesFromRecords(records), now)).toEqual(allocate(newcomer, defaultPolicy(), usesFromRecords(records), now));
  });

  it('gives the same number in every environment and in both protocols', () => {
    const results = numbers(
      allocateAll([req('payments/api'), req('payments/api', { env: 'staging' }), req('payments/api', { protocol: 'udp' })], defaultPolicy()),
    );
    expect(new Set(Object.values(results))).toEqual(new Set([29824]));
  });

  it('prefers the number the port holds in another environment, where it is free', () => {
    const uses: NumberUse[] = [{ ...req('payments/api'), number: 21000 }];
    expect(allocate(req('payments/api', { env: 'staging' }), defaultPolicy(), uses, now)).toEqual({ ok: true, number: 21000, source: 'other_env', range: 'default' });
    // taken in staging by someone else: back to the hash
    uses.push({ ...req('billing/api', { env: 'staging' }), number: 21000 });
    expect(allocate(req('payments/api', { env: 'staging' }), defaultPolicy(), uses, now)).toEqual({ ok: true, number: 29824, source: 'hash', range: 'default' });
  });

  it('resolves a hash collision by first come, first served, and probes upward', () => {
    // payments/api and f/x both hash to the fifth number of a ten-number range
    expect(numbers(allocateAll([req('payments/api'), req('f/x')], tiny))).toEqual({ 'payments/api@prod/tcp': 20004, 'f/x@prod/tcp': 20005 });
    expect(numbers(allocateAll([req('f/x'), req('payments/api')], tiny))).toEqual({ 'f/x@prod/tcp': 20004, 'payments/api@prod/tcp': 20005 });
  });

  it('probes past reserved, taken and cooling numbers and wraps around the range', () => {
    const policy: RegisterPolicy = { ...tiny, reserved: [{ from: 20004, to: 20004 }] };
    const uses: NumberUse[] = [
      { ...req('x/a'), number: 20005 },
      { ...req('x/b'), number: 20006, releasedAt: now - 1000 },
      { ...req('x/c'), number: 20007 },
      { ...req('x/d'), number: 20008 },
      { ...req('x/e'), number: 20009 },
    ];
    expect(allocate(req('payments/api'), policy, uses, now)).toEqual({ ok: true, number: 20000, source: 'hash', range: 'tiny' });
  });

  it('fills service-limited ranges first, then spills into the wider ones', () => {
    const policy: RegisterPolicy = {
      reserved: [],
      ranges: [
        { name: 'default', from: 20000, to: 20009 },
        { name: 'pg', from: 25000, to: 25001, services: ['postgres-*'] },
      ],
      reuseCooldownMs: 0,
    };
    const results = allocateAll(['postgres-a/pg', 'postgres-b/pg', 'postgres-c/pg', 'payments/api'].map((ref) => req(ref)), policy);
    expect(Object.values(results).map((result) => result.ok && result.range)).toEqual(['pg', 'pg', 'default', 'default']);
  });

  it('validates an explicit number and never moves it', () => {
    const uses: NumberUse[] = [{ ...req('billing/api'), number: 21000 }];
    expect(allocate(req('payments/api', { number: 21001 }), defaultPolicy(), uses, now)).toEqual({ ok: true, number: 21001, source: 'explicit', range: 'default' });
    expect(allocate(req('payments/api', { number: 21000 }), defaultPolicy(), uses, now)).toMatchObject({ ok: false, rule: 'taken' });
    expect(allocate(req('payments/api', { number: 443 }), defaultPolicy(), uses, now)).toMatchObject({ ok: false, rule: 'reserved' });
  });

  it('says range_exhausted when nothing is free, and out_of_range when no range is open', () => {
    const full: NumberUse[] = Array.from({ length: 10 }, (_, i) => ({ ...req(`x/p${i}`), number: 20000 + i }));
    const result = allocate(req('payments/api'), tiny, full, now);
    expect(result).toMatchObject({ ok: false, rule: 'exhausted' });
    expect(result.ok ? undefined : refusalError(result).code).toBe('range_exhausted');
    const closed: RegisterPolicy = { ...tiny, ranges: [{ name: 'tiny', from: 20000, to: 20009, envs: ['prod'] }] };
    expect(allocate(req('payments/api', { env: 'dev' }), closed, [], now)).toMatchObject({ ok: false, rule: 'out_of_range', message: 'no range is open to payments in dev' });
  });
});
