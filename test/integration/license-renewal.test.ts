import { expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { FakeAuthority } from '../helpers/fake-authority.ts';
import { SERVICE, syncHarness } from '../helpers/sync-harness.ts';
import { waitFor } from '../helpers/wait.ts';

it('a renewal replaces the token in force with no moment without a license', async () => {
  const clock = new ManualClock();
  const authority = await FakeAuthority.start({ clock });
  onTestFinished(() => authority.close());
  const harness = await syncHarness(authority, clock);
  const first = await authority.issue({ service: SERVICE, port: 'api', number: 8443, ttlMs: 600_000 });
  const sync = await harness.start();
  await waitFor(() => sync.get('api')?.claims.jti === first.jti, { what: 'the first token' });
  await waitFor(() => authority.heldPolls === 1, { what: 'a held blocking query' });

  // watch get() on every turn of the event loop while the renewal travels
  let gaps = 0;
  let watching = true;
  const watch = () => {
    if (sync.get('api') === undefined) gaps++;
    if (watching) setImmediate(watch);
  };
  watch();
  clock.advance(500_000); // inside the renew window (last 20%): health says so until the renewal lands
  expect(sync.status('api').health).toBe('degraded');
  const renewed = await authority.renew(first.lid);
  await waitFor(() => sync.get('api')?.claims.jti === renewed.jti, { what: 'the renewed token' });
  watching = false;

  expect(gaps).toBe(0);
  expect(sync.get('api')?.claims.lid).toBe(first.lid);
  expect(sync.get('api')!.expMs).toBeGreaterThan(clock.now() + 500_000);
  expect(sync.status('api')).toMatchObject({ health: 'ok', jti: renewed.jti });
  expect(await harness.metric('portwarden_license_expiry_timestamp_seconds', { port: 'api' })).toBe(sync.get('api')!.claims.exp);
});
