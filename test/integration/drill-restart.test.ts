import { expect, it } from 'vitest';
import { issueBody } from '../helpers/authority.ts';
import { caller, startDrillAuthority, startDrillSidecar } from '../helpers/drill-harness.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';

it('restores a revoke drill whose window ended while the authority was down, as soon as it is back', async () => {
  const dataDir = await tempDir();
  const first = await startDrillAuthority({ dataDir });
  const { clock } = first;
  const sidecar = await startDrillSidecar(first);
  const issued = (await first.api('POST', '/v1/licenses', { body: issueBody({ allow: [caller] }) })).body;
  await waitFor(() => sidecar.sync.get('api')?.claims.lid === issued.lid, { what: 'the license' });
  const drill = (await first.api('POST', '/v1/drills', { body: { kind: 'revoke', service: 'payments', port: 'api', for: '5m' } })).body;
  await waitFor(() => sidecar.sync.get('api')?.revoked, { what: 'the revocation' });

  await first.authority.close();
  await waitFor(() => !sidecar.sync.authorityReachable, { what: 'the sidecar to lose the authority' });
  clock.advance(6 * 60_000);
  expect(sidecar.decide()).toEqual({ allow: false, reason: 'revoked' });

  // same data dir, same address: the sweeper's first sweep runs at start
  const second = await startDrillAuthority({ dataDir, clock, config: { listen: new URL(first.url).host } });
  expect(second.url).toBe(first.url);
  await waitFor(() => sidecar.sync.get('api')?.revoked === false, { what: 'the replacement to reach the sidecar' });
  expect(sidecar.decide()).toEqual({ allow: true });
  const restored = (await second.api('GET', `/v1/drills/${drill.id}`)).body;
  expect(restored).toMatchObject({ state: 'restored', restored_by: 'system', restored_at: new Date(clock.now()).toISOString() });
  expect(sidecar.sync.get('api')?.claims.lid).toBe(restored.changes.restored[0].lid);
});

it('keeps an outage drill across a restart: the sync stays refused until the window ends', async () => {
  const dataDir = await tempDir();
  const first = await startDrillAuthority({ dataDir });
  const { clock } = first;
  const sidecarToken = (await first.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token;
  const drill = (await first.api('POST', '/v1/drills', { body: { kind: 'outage', service: 'payments', for: '5m' } })).body;
  await first.authority.close();

  const second = await startDrillAuthority({ dataDir, clock });
  expect((await second.api('GET', '/v1/licenses', { token: sidecarToken })).status).toBe(503);
  expect((await second.api('GET', '/v1/drills?state=active', { token: sidecarToken })).body.drills.map((d: { id: string }) => d.id)).toEqual([drill.id]);
  // the window's end lifts the outage by itself, before the sweeper records the restore
  clock.advance(5 * 60_000);
  expect((await second.api('GET', '/v1/licenses', { token: sidecarToken })).status).toBe(200);
  await waitFor(async () => (await second.api('GET', `/v1/drills/${drill.id}`)).body.state === 'restored', { what: 'the restore' });
});
