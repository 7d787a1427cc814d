import { expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { decide } from '../../src/sidecar/proxy/decide.ts';
import type { LicenseSync, SyncPort } from '../../src/sidecar/licenses/sync.ts';
import { FakeAuthority } from '../helpers/fake-authority.ts';
import { SERVICE, syncHarness } from '../helpers/sync-harness.ts';
import { waitFor } from '../helpers/wait.ts';

const caller = 'spiffe://corp/ns/billing/sa/api';
const strict: SyncPort = { name: 'api', listenPort: 8443, expiryGraceMs: 0 };
const lenient: SyncPort = { name: 'admin', listenPort: 8444, expiryGraceMs: 30_000 };

it('refuses exactly at exp, and admits until exp + expiry_grace only while the authority is unreachable', async () => {
  const clock = new ManualClock();
  const authority = await FakeAuthority.start({ clock });
  onTestFinished(() => authority.close());
  const harness = await syncHarness(authority, clock);
  await authority.issue({ service: SERVICE, port: 'api', number: 8443, ttlMs: 60_000, allow: [caller] });
  const admin = await authority.issue({ service: SERVICE, port: 'admin', number: 8444, ttlMs: 60_000, allow: [caller] });
  const sync = await harness.start({ ports: [strict, lenient], healthIntervalMs: 20 });
  await waitFor(() => sync.get('api') && sync.get('admin')?.claims.jti === admin.jti, { what: 'both licenses' });
  const exp = sync.get('admin')!.expMs;
  const at = (s: LicenseSync, port: SyncPort) =>
    decide(s.get(port.name), caller, {
      now: clock.now(),
      clockToleranceMs: 0,
      expiryGraceMs: port.expiryGraceMs ?? 0,
      authorityReachable: s.authorityReachable,
    });

  clock.set(exp - 1);
  expect(at(sync, strict)).toEqual({ allow: true });
  clock.set(exp);
  expect(at(sync, strict)).toEqual({ allow: false, reason: 'expired' });
  // the authority answers, so grace does not apply: it could have renewed and did not
  expect(at(sync, lenient)).toEqual({ allow: false, reason: 'expired' });
  expect(sync.status('admin')).toMatchObject({ health: 'expired' });
  await waitFor(async () => (await harness.metric('portwarden_license_valid', { port: 'admin' })) === 0, { what: 'valid gauge to drop' });

  await authority.stop();
  await waitFor(() => !sync.authorityReachable, { what: 'the outage to be noticed' });
  clock.set(exp + 1_000);
  expect(at(sync, lenient)).toEqual({ allow: true });
  expect(at(sync, strict)).toEqual({ allow: false, reason: 'expired' });
  expect(sync.status('admin')).toMatchObject({ health: 'degraded', graceUntil: new Date(exp + 30_000).toISOString() });
  await waitFor(async () => (await harness.metric('portwarden_license_health', { port: 'admin', state: 'degraded' })) === 1, {
    what: 'health gauge to show degraded',
  });
  clock.set(exp + 30_000);
  expect(at(sync, lenient)).toEqual({ allow: false, reason: 'expired' });
  expect(sync.status('admin').health).toBe('expired');
});
