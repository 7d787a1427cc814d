import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../../../src/shared/clock.ts';
import { decide } from '../../../../src/sidecar/proxy/decide.ts';
import type { LicenseChange } from '../../../../src/sidecar/licenses/source.ts';
import { FakeAuthority } from '../../../helpers/fake-authority.ts';
import { API_PORT, SERVICE, syncHarness } from '../../../helpers/sync-harness.ts';
import { waitFor } from '../../../helpers/wait.ts';

async function setup() {
  const clock = new ManualClock();
  const authority = await FakeAuthority.start({ clock });
  onTestFinished(() => authority.close());
  const harness = await syncHarness(authority, clock);
  return { clock, authority, harness };
}

describe('LicenseSync', () => {
  it('close() aborts the pending long-poll at once, and twice is fine', async () => {
    const { authority, harness } = await setup();
    const sync = await harness.start();
    await waitFor(() => authority.heldPolls === 1, { what: 'a held blocking query' });
    await Promise.all([sync.close(), sync.close()]);
    await waitFor(() => authority.heldPolls === 0, { what: 'the authority to see the poll go' });
    expect(await harness.metric('portwarden_authority_sync_total', { result: 'error' })).toBeUndefined();
  });

  it('starts without cache or authority: ports refuse with no_license and report missing', async () => {
    const { clock, authority, harness } = await setup();
    await authority.stop();
    const sync = await harness.start({ backoff: { floorMs: 10, ceilingMs: 20 } });
    await waitFor(async () => ((await harness.metric('portwarden_authority_sync_total', { result: 'error' })) ?? 0) >= 2, { what: 'failed rounds' });
    expect(sync.get('api')).toBeUndefined();
    expect(decide(sync.get('api'), 'x', { now: clock.now(), clockToleranceMs: 0, expiryGraceMs: 0, authorityReachable: false })).toEqual({
      allow: false,
      reason: 'no_license',
    });
    expect(sync.status('api')).toEqual({ health: 'missing' });
    expect(await harness.metric('portwarden_license_health', { port: 'api', state: 'missing' })).toBe(1);
  });

  it('ignores a corrupt cache file with a warning, then syncs and rewrites it', async () => {
    const { authority, harness } = await setup();
    const file = join(harness.authority.cache_dir, `licenses-${SERVICE}.json`);
    await mkdir(harness.authority.cache_dir, { recursive: true });
    await writeFile(file, '{"version":1,"service":"payments","jwks":{"ke');
    const issued = await authority.issue({ service: SERVICE, port: 'api', number: 8443 });
    const sync = await harness.start();
    expect(harness.logs.some((line) => line.level === 'warn' && /ignoring the last-known-good/.test(line.msg))).toBe(true);
    expect(await harness.metric('portwarden_license_rejected_total', { reason: 'cache_corrupt' })).toBe(1);
    await waitFor(() => sync.get('api')?.claims.jti === issued.jti, { what: 'the license' });
    await waitFor(async () => (await readFile(file, 'utf8').catch(() => '')).includes(issued.token), { what: 'the cache rewritten' });
  });

  it('picks up a rotated token file after a 401, without a restart', async () => {
    const { authority, harness } = await setup();
    await writeFile(harness.tokenFile, 'pw_sidecar_stale');
    const issued = await authority.issue({ service: SERVICE, port: 'api', number: 8443 });
    const sync = await harness.start({ backoff: { floorMs: 10, ceilingMs: 50 } });
    await waitFor(() => harness.logs.some((line) => line.code === 'unauthenticated'), { what: 'a 401' });
    expect(sync.authorityReachable).toBe(false);
    await writeFile(harness.tokenFile, authority.sidecarToken(SERVICE));
    await waitFor(() => sync.get('api')?.claims.jti === issued.jti, { what: 'the license' });
  });

  it('applies a reloaded port list at once: known licenses for new ports, removals announced', async () => {
    const { authority, harness } = await setup();
    await authority.issue({ service: SERVICE, port: 'api', number: 8443 });
    const admin = await authority.issue({ service: SERVICE, port: 'admin', number: 8444 });
    const sync = await harness.start();
    await waitFor(() => sync.get('api'), { what: 'the api license' });
    expect(sync.get('admin')).toBeUndefined();
    expect(await harness.metric('portwarden_license_rejected_total')).toBeUndefined();

    const changes: LicenseChange[] = [];
    sync.onChange((change) => changes.push(change));
    await sync.updatePorts([API_PORT, { name: 'admin', listenPort: 8444 }]);
    expect(sync.get('admin')?.claims.jti).toBe(admin.jti);
    await sync.updatePorts([{ name: 'admin', listenPort: 8444 }]);
    expect(sync.get('api')).toBeUndefined();
    expect(changes.map((change) => [change.portName, change.current?.claims.lid])).toEqual([
      ['admin', admin.lid],
      ['api', undefined],
    ]);
    expect(sync.status('api').health).toBe('missing');
  });

  it('fetches a rotated key on first sight of its kid, and unknown kids at most once per cool-down', async () => {
    const { clock, authority, harness } = await setup();
    const sync = await harness.start();
    await waitFor(() => sync.authorityReachable, { what: 'the first sync' });
    expect(authority.jwksFetches).toBe(1);

    await authority.rotateKey();
    const rotated = await authority.issue({ service: SERVICE, port: 'api', number: 8443 });
    await waitFor(() => sync.get('api')?.claims.jti === rotated.jti, { what: 'the license signed with the new key' });
    expect(authority.jwksFetches).toBe(2);

    const forged = () => authority.mint({ service: SERVICE, port: 'api', number: 8443, forge: 'unknown-kid' });
    authority.publish(SERVICE, 'forged-1', await forged());
    await waitFor(async () => (await harness.metric('portwarden_license_rejected_total', { reason: 'kid' })) === 1, { what: 'a kid refusal' });
    expect(authority.jwksFetches).toBe(2);
    clock.advance(30_000);
    authority.publish(SERVICE, 'forged-2', await forged());
    await waitFor(async () => (await harness.metric('portwarden_license_rejected_total', { reason: 'kid' })) === 2, { what: 'a second kid refusal' });
    expect(authority.jwksFetches).toBe(3);
  });

  it('announces a revocation that comes with a replacement as one replacement for the port, and the revoked lid to onRevoke so on_revoke fires', async () => {
    const { authority, harness } = await setup();
    const old = await authority.issue({ service: SERVICE, port: 'api', number: 8443, ttlMs: 7_200_000 });
    const sync = await harness.start();
    await waitFor(() => sync.get('api')?.claims.lid === old.lid, { what: 'the first license' });
    const changes: LicenseChange[] = [];
    sync.onChange((change) => changes.push(change));
    const revoked: string[][] = [];
    sync.onRevoke((lids) => revoked.push([...lids]));

    // a new allow list: issue the new license (it expires sooner, so the old one stays in force), then revoke the old
    const replacement = await authority.issue({ service: SERVICE, port: 'api', number: 8443, ttlMs: 3_600_000, allow: ['spiffe://corp/ns/new/*'] });
    authority.revoke(old.lid);
    await waitFor(() => sync.get('api')?.claims.lid === replacement.lid, { what: 'the replacement' });
    expect(changes.map((change) => [change.previous?.claims.lid, change.current?.claims.lid, change.current?.revoked])).toEqual([
      [old.lid, replacement.lid, false],
    ]);
    expect(revoked).toEqual([[old.lid]]);
    expect(sync.byLid(old.lid)).toMatchObject({ revoked: true, claims: { jti: old.jti } });
  });

  it('announces the revocation of a license its replacement already displaced, though the port does not change', async () => {
    const { authority, harness } = await setup();
    const old = await authority.issue({ service: SERVICE, port: 'api', number: 8443, ttlMs: 3_600_000 });
    const sync = await harness.start();
    await waitFor(() => sync.get('api')?.claims.lid === old.lid, { what: 'the first license' });
    const revoked: string[][] = [];
    sync.onRevoke((lids) => revoked.push([...lids]));

    // the replacement expires later: it takes the port's place on arrival, before the old one is revoked
    const replacement = await authority.issue({ service: SERVICE, port: 'api', number: 8443, ttlMs: 7_200_000, allow: ['spiffe://corp/ns/new/*'] });
    await waitFor(() => sync.get('api')?.claims.lid === replacement.lid, { what: 'the replacement' });
    const changes: LicenseChange[] = [];
    sync.onChange((change) => changes.push(change));
    authority.revoke(old.lid);
    await waitFor(() => revoked.length > 0, { what: 'the revocation' });
    expect(revoked).toEqual([[old.lid]]);
    expect(changes).toEqual([]);
    expect(sync.get('api')).toMatchObject({ revoked: false, claims: { lid: replacement.lid } });
    expect(sync.byLid(old.lid)?.revoked).toBe(true);
    // the cache keeps the revocation, so a restart never takes the old license back
    const file = join(harness.authority.cache_dir, `licenses-${SERVICE}.json`);
    await waitFor(async () => (JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as { revoked?: string[] }).revoked?.includes(old.lid), { what: 'the cache to hold the revocation' });
  });

  it('holds one license per listen number of a port, revokes them one by one, and judges the port by the number that serves', async () => {
    const { authority, harness } = await setup();
    const both = { name: 'api', listenPort: 8443, listenPorts: [8443, 9443] };
    const old = await authority.issue({ service: SERVICE, port: 'api', number: 8443, ttlMs: 3_600_000 });
    const moved = await authority.issue({ service: SERVICE, port: 'api', number: 9443, ttlMs: 7_200_000 });
    const sync = await harness.start({ ports: [both] });
    await waitFor(() => sync.get('api', 9443)?.claims.lid === moved.lid, { what: 'the second number license' });
    expect(sync.get('api', 8443)?.claims.lid).toBe(old.lid);
    expect(sync.get('api')?.claims.lid).toBe(old.lid); // without a number: the first one
    expect(sync.status('api', 9443)).toMatchObject({ health: 'ok', lid: moved.lid });
    expect(await harness.metric('portwarden_license_rejected_total')).toBeUndefined();

    const changes: LicenseChange[] = [];
    sync.onChange((change) => changes.push(change));
    authority.revoke(old.lid);
    await waitFor(() => sync.get('api', 8443)?.revoked, { what: 'the revocation' });
    expect(changes.map((change) => [change.listenPort, change.current?.claims.lid, change.current?.revoked])).toEqual([[8443, old.lid, true]]);
    expect(sync.get('api', 9443)).toMatchObject({ revoked: false, claims: { lid: moved.lid } });
    // the port still admits on 9443: ready, valid, and its expiry is the license that keeps it admitting
    expect(sync.status('api')).toEqual(expect.objectContaining({ health: 'ok', lid: moved.lid, problem: `listen number 8443: license ${old.lid} was revoked` }));
    expect(sync.status('api', 8443)).toMatchObject({ health: 'missing', lid: old.lid });
    expect(await harness.metric('portwarden_license_valid', { port: 'api' })).toBe(1);
    expect(await harness.metric('portwarden_license_health', { port: 'api', state: 'ok' })).toBe(1);
    expect(await harness.metric('portwarden_license_expiry_timestamp_seconds', { port: 'api' })).toBe(sync.get('api', 9443)?.claims.exp);

    // restarted during an outage: last-known-good restores each number, the revoked one revoked
    const file = join(harness.authority.cache_dir, `licenses-${SERVICE}.json`);
    await waitFor(async () => (JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as { revoked?: string[] }).revoked?.includes(old.lid), { what: 'the cache to hold the revocation' });
    await sync.close();
    await authority.stop();
    const again = await harness.start({ ports: [both], backoff: { floorMs: 10, ceilingMs: 20 } });
    expect(again.get('api', 8443)?.revoked).toBe(true);
    expect(again.get('api', 9443)?.claims.lid).toBe(moved.lid);

    // the old number leaves the configuration: its entry goes, the kept number's license is not touched
    const later: LicenseChange[] = [];
    again.onChange((change) => later.push(change));
    await again.updatePorts([{ name: 'api', listenPort: 9443 }]);
    expect(later.map((change) => [change.listenPort, change.previous?.claims.lid, change.current])).toEqual([[8443, old.lid, undefined]]);
    expect(again.get('api')?.claims.lid).toBe(moved.lid);
    expect(again.status('api')).toMatchObject({ health: 'degraded', lid: moved.lid }); // the authority is down
  });
});
