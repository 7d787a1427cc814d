import { expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { decide } from '../../src/sidecar/proxy/decide.ts';
import { FakeAuthority, type MintOptions } from '../helpers/fake-authority.ts';
import { SERVICE, syncHarness } from '../helpers/sync-harness.ts';
import { waitFor } from '../helpers/wait.ts';

const caller = 'spiffe://corp/ns/billing/sa/api';
const hour = 3_600_000;

// each forged token would outlive the good one, so only verification keeps it out
const forgeries: [string, Partial<MintOptions>][] = [
  ['alg', { forge: 'alg-none' }],
  ['alg', { forge: 'hs256-public-key' }],
  ['kid', { forge: 'unknown-kid' }],
  ['signature', { forge: 'foreign-key' }],
  ['signature', { forge: 'tampered' }],
  ['exp', { iatOffsetMs: -3 * hour, ttlMs: hour }],
  ['nbf', { nbfOffsetMs: hour }],
  ['aud', { claims: { aud: 'someone-else' } }],
  ['iss', { claims: { iss: 'evil-authority' } }],
  ['typ', { header: { typ: 'JWT' } }],
  ['sub', { claims: { sub: 'ledger/api' } }],
  ['port', { number: 9999 }],
  ['claims', { claims: { lid: undefined } }],
];

it('refuses every forged or mismatched token, counts it by reason, and keeps the good license', async () => {
  const clock = new ManualClock();
  const authority = await FakeAuthority.start({ clock });
  onTestFinished(() => authority.close());
  const harness = await syncHarness(authority, clock);
  const good = await authority.issue({ service: SERVICE, port: 'api', number: 8443, ttlMs: hour, allow: [caller] });
  const sync = await harness.start();
  await waitFor(() => sync.get('api')?.claims.jti === good.jti, { what: 'the good license' });

  const tokens = await Promise.all(
    forgeries.map(([, options]) => authority.mint({ service: SERVICE, port: 'api', number: 8443, ttlMs: 2 * hour, allow: ['*'], ...options })),
  );
  tokens.forEach((token, i) => authority.publish(SERVICE, `forged-${i}`, token));

  const expected = new Map<string, number>();
  for (const [reason] of forgeries) expected.set(reason, (expected.get(reason) ?? 0) + 1);
  await waitFor(
    async () => {
      for (const [reason, count] of expected) {
        if (((await harness.metric('portwarden_license_rejected_total', { reason })) ?? 0) < count) return false;
      }
      return true;
    },
    { what: 'every forged token to be refused' },
  );
  // counted once per token, though the listing repeats them every round
  for (const [reason, count] of expected) expect(await harness.metric('portwarden_license_rejected_total', { reason }), reason).toBe(count);
  const logged = new Set(harness.logs.filter((line) => line.msg === 'license token refused').map((line) => line.reason));
  expect([...logged].sort()).toEqual([...expected.keys()].sort());

  expect(sync.get('api')?.claims.jti).toBe(good.jti);
  expect(decide(sync.get('api'), caller, { now: clock.now(), clockToleranceMs: 0, expiryGraceMs: 0, authorityReachable: true })).toEqual({
    allow: true,
  });
  expect(decide(sync.get('api'), 'spiffe://attacker/x', { now: clock.now(), clockToleranceMs: 0, expiryGraceMs: 0, authorityReachable: true })).toEqual({
    allow: false,
    reason: 'identity_not_allowed',
  });
  expect(sync.status('api')).toMatchObject({ health: 'ok', jti: good.jti, problem: expect.stringMatching(/refused/) });
});
