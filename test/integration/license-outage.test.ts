import { expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { decide } from '../../src/sidecar/proxy/decide.ts';
import type { LicenseSync } from '../../src/sidecar/licenses/sync.ts';
import { FakeAuthority } from '../helpers/fake-authority.ts';
import { SERVICE, syncHarness } from '../helpers/sync-harness.ts';
import { waitFor } from '../helpers/wait.ts';

const caller = 'spiffe://corp/ns/billing/sa/api';

it('admits on cached licenses through an authority outage, and after a sidecar restart during it', async () => {
  const clock = new ManualClock();
  const authority = await FakeAuthority.start({ clock });
  onTestFinished(() => authority.close());
  const harness = await syncHarness(authority, clock);
  const issued = await authority.issue({ service: SERVICE, port: 'api', number: 8443, ttlMs: 3_600_000, allow: [caller] });
  const admits = (sync: LicenseSync) =>
    decide(sync.get('api'), caller, { now: clock.now(), clockToleranceMs: 0, expiryGraceMs: 0, authorityReachable: sync.authorityReachable });

  const sync = await harness.start();
  await waitFor(() => sync.get('api')?.claims.jti === issued.jti, { what: 'the license to arrive' });
  expect(sync.authorityReachable).toBe(true);
  expect(admits(sync)).toEqual({ allow: true });
  expect(sync.status('api').health).toBe('ok');

  await authority.stop();
  await waitFor(() => !sync.authorityReachable, { what: 'the outage to be noticed' });
  expect(sync.get('api')?.claims.jti).toBe(issued.jti);
  expect(admits(sync)).toEqual({ allow: true });
  expect(sync.status('api').health).toBe('degraded');

  // the sidecar restarts while the authority is still down: last-known-good brings the license back
  await sync.close();
  const restarted = await harness.start();
  expect(restarted.get('api')?.claims.jti).toBe(issued.jti);
  expect(restarted.authorityReachable).toBe(false);
  expect(admits(restarted)).toEqual({ allow: true });

  // ... until it expires
  clock.advance(3_600_000 - 1);
  expect(admits(restarted)).toEqual({ allow: true });
  clock.advance(1);
  expect(admits(restarted)).toEqual({ allow: false, reason: 'expired' });
  expect(restarted.status('api').health).toBe('expired');
});

it('notices at once that a recovered authority is reachable again, though nothing changed meanwhile', async () => {
  const clock = new ManualClock();
  const authority = await FakeAuthority.start({ clock });
  onTestFinished(() => authority.close());
  const harness = await syncHarness(authority, clock); // refresh is 10 minutes
  await authority.issue({ service: SERVICE, port: 'api', number: 8443, ttlMs: 3_600_000, allow: [caller] });
  const sync = await harness.start();
  await waitFor(() => sync.authorityReachable && sync.get('api'), { what: 'the first sync' });

  await authority.stop();
  await waitFor(() => !sync.authorityReachable, { what: 'the outage to be noticed' });
  await authority.restart();
  // well before `refresh`: the back-off ceiling is not reached yet and the probe is not held
  await waitFor(() => sync.authorityReachable, { timeoutMs: 5_000, what: 'the authority to be reachable again' });
  expect(sync.status('api').health).toBe('ok');
});
