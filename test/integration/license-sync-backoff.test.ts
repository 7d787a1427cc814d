import { expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { FakeAuthority } from '../helpers/fake-authority.ts';
import { SERVICE, syncHarness } from '../helpers/sync-harness.ts';
import { waitFor } from '../helpers/wait.ts';

it('backs off more and more while the authority is down, and syncs again when it returns', async () => {
  const clock = new ManualClock();
  const authority = await FakeAuthority.start({ clock });
  onTestFinished(() => authority.close());
  const harness = await syncHarness(authority, clock);
  const sync = await harness.start({ backoff: { floorMs: 10, ceilingMs: 160 }, random: () => 1 });
  await waitFor(() => sync.authorityReachable, { what: 'the first sync' });
  const firstSync = await harness.metric('portwarden_authority_last_sync_timestamp_seconds');
  expect(firstSync).toBe(clock.now() / 1000);

  await authority.stop();
  const failures = () => harness.logs.filter((line) => typeof line.retryInMs === 'number').map((line) => line.retryInMs as number);
  await waitFor(() => failures().length >= 6, { what: 'six failed rounds' });
  expect(sync.authorityReachable).toBe(false);
  expect(failures().slice(0, 6)).toEqual([10, 20, 40, 80, 160, 160]);
  expect(await harness.metric('portwarden_authority_sync_total', { result: 'error' })).toBeGreaterThanOrEqual(6);

  // a license issued during the outage arrives once the authority is back
  const issued = await authority.issue({ service: SERVICE, port: 'api', number: 8443 });
  clock.advance(60_000);
  await authority.restart();
  await waitFor(() => sync.get('api')?.claims.jti === issued.jti, { what: 'the sync to resume' });
  expect(sync.authorityReachable).toBe(true);
  expect(await harness.metric('portwarden_authority_last_sync_timestamp_seconds')).toBe(clock.now() / 1000);
  expect(await harness.metric('portwarden_authority_sync_total', { result: 'changed' })).toBeGreaterThanOrEqual(2);
});
