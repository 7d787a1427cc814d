import { expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { decide } from '../../src/sidecar/proxy/decide.ts';
import type { LicenseChange } from '../../src/sidecar/licenses/source.ts';
import { FakeAuthority } from '../helpers/fake-authority.ts';
import { SERVICE, syncHarness } from '../helpers/sync-harness.ts';
import { waitFor } from '../helpers/wait.ts';

const caller = 'spiffe://corp/ns/billing/sa/api';

it('a revocation reaches get() and onChange through the long-poll, without waiting for refresh', async () => {
  const clock = new ManualClock();
  const authority = await FakeAuthority.start({ clock });
  onTestFinished(() => authority.close());
  // refresh is 10 minutes: anything sooner came through the held blocking query
  const harness = await syncHarness(authority, clock, { refresh: 600_000 });
  const issued = await authority.issue({ service: SERVICE, port: 'api', number: 8443, allow: [caller] });
  const sync = await harness.start({ healthIntervalMs: 20 });
  const changes: LicenseChange[] = [];
  sync.onChange((change) => changes.push(change));
  await waitFor(() => sync.get('api')?.claims.lid === issued.lid, { what: 'the license' });
  await waitFor(() => authority.heldPolls === 1, { what: 'the sidecar to hold a blocking query' });

  authority.revoke(issued.lid);
  await waitFor(() => sync.get('api')?.revoked, { what: 'the revocation to arrive' });
  expect(changes.at(-1)).toMatchObject({ portName: 'api', previous: { revoked: false }, current: { revoked: true, claims: { lid: issued.lid } } });
  const decision = decide(sync.get('api'), caller, { now: clock.now(), clockToleranceMs: 0, expiryGraceMs: 0, authorityReachable: true });
  expect(decision).toEqual({ allow: false, reason: 'revoked' });
  expect(sync.status('api')).toMatchObject({ health: 'missing', lid: issued.lid });
  await waitFor(async () => (await harness.metric('portwarden_license_valid', { port: 'api' })) === 0, { what: 'valid gauge to drop' });

  // a sidecar restarted later does not bring the revoked license back from its cache
  await authority.stop();
  await sync.close();
  const restarted = await harness.start();
  expect(restarted.get('api')).toMatchObject({ revoked: true, claims: { lid: issued.lid } });
});
