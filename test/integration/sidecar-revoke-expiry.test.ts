import { expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { closedBy, connectTo, echoes, echo, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { StaticLicenseSource, testLicense } from '../helpers/static-license-source.ts';


it('on_revoke close cuts the revoked license’s open connections; drain lets them finish', async () => {
  const upstream = await startUpstream(echo);
  const h = await startSidecar(
    testConfig([
      { name: 'strict', upstream: upstream.address, on_revoke: 'close' },
      { name: 'gentle', upstream: upstream.address, on_revoke: 'drain' },
    ]),
  );
  const strict = await connectTo(h.address('strict'));
  const gentle = await connectTo(h.address('gentle'));
  expect(await echoes(strict, 'a')).toBe(true);
  expect(await echoes(gentle, 'b')).toBe(true);
  const strictEnd = closedBy(strict);

  h.source.revoke('strict');
  h.source.revoke('gentle');
  expect(await strictEnd).toBe('ECONNRESET');
  expect(await echoes(gentle, 'still open')).toBe(true);
  expect(await h.metric('portwarden_connections_closed_total', { port: 'strict', reason: 'revoked' })).toBe(1);
  expect(await h.metric('portwarden_connections_closed_total', { port: 'gentle', reason: 'revoked' })).toBeUndefined();
  // new callers are refused on both
  expect(await closedBy(await connectTo(h.address('gentle')))).toBe('closed');
  expect(await h.metric('portwarden_connections_total', { port: 'gentle', decision: 'deny', reason: 'revoked' })).toBe(1);
});

it('closes open connections that outlive their license, unless a renewal under the same lid extended it', async () => {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const source = new StaticLicenseSource(clock);
  const upstream = await startUpstream(echo);
  const h = await startSidecar(
    testConfig([
      { name: 'lapsing', upstream: upstream.address },
      { name: 'renewed', upstream: upstream.address },
    ]),
    { clock, source, licensed: false, sweepIntervalMs: 20 },
  );
  source.set('lapsing', testLicense({ port: 'lapsing', clock, ttlMs: 60_000, lid: 'lapsing' }));
  source.set('renewed', testLicense({ port: 'renewed', clock, ttlMs: 60_000, lid: 'renewed' }));
  const lapsing = await connectTo(h.address('lapsing'));
  const renewed = await connectTo(h.address('renewed'));
  expect(await echoes(lapsing, 'a')).toBe(true);
  expect(await echoes(renewed, 'b')).toBe(true);
  const lapsingEnd = closedBy(lapsing);

  clock.advance(30_000);
  source.set('renewed', testLicense({ port: 'renewed', clock, ttlMs: 60_000, lid: 'renewed' }));
  clock.advance(31_000); // past the first exp of both

  expect(await lapsingEnd).toBe('ECONNRESET');
  expect(await echoes(renewed, 'renewal keeps me')).toBe(true);
  expect(await h.metric('portwarden_connections_closed_total', { port: 'lapsing', reason: 'expired' })).toBe(1);
  // the record tells when the connection was accepted and how long it lasted, on the injected clock
  expect(h.records.find((record) => record.port === 'lapsing')).toMatchObject({
    closeReason: 'expired',
    lid: 'lapsing',
    time: Date.UTC(2026, 5, 1),
    durationMs: 61_000,
  });
});
