import { expect, it } from 'vitest';
import { startTestAuthority } from '../helpers/authority.ts';
import { startLicensedSidecar } from '../helpers/licensed-sidecar.ts';
import { freePortIn } from '../helpers/ports.ts';
import { portPath, requestPort } from '../helpers/register.ts';
import { closedBy, connectTo, echo, echoes, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { LOCAL_IDENTITY } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';

const hour = 3_600_000;

it('transition lifecycle with the sidecar listening on both numbers, then one', async () => {
  const t = await startTestAuthority({ renewIntervalMs: 20 });
  const oldNumber = await freePortIn(20000, 29999);
  const newNumber = await freePortIn(20000, 29999, [oldNumber]);
  const requested = await requestPort(t, { env: 'prod', number: oldNumber, license: { allow: [LOCAL_IDENTITY], ttl: '2h' } });
  expect(requested.status).toBe(201);
  const oldLid = requested.body.licenses[0].lid as string;

  // the deployment is configured for the move ahead of it: both numbers, one listener each
  const upstream = await startUpstream(echo);
  const both = testConfig([{ name: 'api', upstream: upstream.address, listen: [`127.0.0.1:${oldNumber}`, `127.0.0.1:${newNumber}`] }]);
  const s = await startLicensedSidecar(t, both);
  await waitFor(() => s.sync.get('api', oldNumber)?.claims.lid === oldLid, { what: 'the old number license' });
  expect(await s.attempt(oldNumber)).toBe('admitted');
  expect(await s.attempt(newNumber)).toBe('refused: no_license');
  // ready: the port admits on one of its numbers; the other is named
  const early = await s.admin('/readyz');
  expect(early).toMatchObject({ status: 200, body: { ports: [{ name: 'api', health: 'ok' }] } });
  expect((await s.admin('/status')).body.ports).toEqual([
    expect.objectContaining({ name: 'api', license: expect.objectContaining({ health: 'ok', lid: oldLid, problem: `listen number ${newNumber}: no license` }) }),
  ]);

  // the transition licenses the new number for the window: both numbers admit
  const moving = await t.api('POST', portPath('payments/api', 'transition', 'prod'), { body: { to: newNumber, window: '1h' } });
  expect(moving.body).toMatchObject({ state: 'transitioning', number: oldNumber, transition: { to: newNumber } });
  const newLid = moving.body.licenses.find((l: { number: number }) => l.number === newNumber).lid as string;
  await waitFor(() => s.sync.get('api', newNumber)?.claims.lid === newLid, { what: 'the new number license at the sidecar' });
  expect(s.sync.get('api', oldNumber)?.claims.lid).toBe(oldLid);
  expect(await s.attempt(oldNumber)).toBe('admitted');
  expect(await s.attempt(newNumber)).toBe('admitted');
  const status = (await s.admin('/status')).body.ports as { license: object; listens: object[] }[];
  expect(status[0]?.license).not.toHaveProperty('problem');
  expect(status[0]?.listens).toEqual([
    expect.objectContaining({ listen: `127.0.0.1:${oldNumber}`, license: expect.objectContaining({ health: 'ok', lid: oldLid }) }),
    expect.objectContaining({ listen: `127.0.0.1:${newNumber}`, license: expect.objectContaining({ health: 'ok', lid: newLid }) }),
  ]);

  // callers on each number while the window ends
  const onOld = await connectTo({ host: '127.0.0.1', port: oldNumber });
  const onNew = await connectTo({ host: '127.0.0.1', port: newNumber });
  expect(await echoes(onOld, 'old')).toBe(true);
  expect(await echoes(onNew, 'new')).toBe(true);
  const oldEnd = closedBy(onOld);

  // the window ends (the register's sweep): the old number is released and its license revoked
  t.clock.advance(hour);
  await waitFor(async () => (await t.api('GET', `/v1/ports/${requested.body.id}`)).body.state === 'active', { what: 'the window to end' });
  await waitFor(() => s.sync.get('api', oldNumber)?.revoked, { what: 'the revocation at the sidecar' });

  // on_revoke close applies to the revoked license only: the old number's caller is cut, the new one's is not
  expect(await oldEnd).toBe('ECONNRESET');
  expect(s.records.find((record) => record.lid === oldLid && record.closeReason === 'revoked')).toBeDefined();
  expect(await echoes(onNew, 'the new number keeps serving')).toBe(true);
  expect(await s.attempt(oldNumber)).toBe('refused: revoked');
  expect(await s.attempt(newNumber)).toBe('admitted');
  expect(s.sync.get('api', newNumber)).toMatchObject({ revoked: false, claims: { lid: newLid } });

  // still ready and valid: the port admits on its new number; the old one is named as revoked
  expect((await s.admin('/readyz')).status).toBe(200);
  expect(await s.metric('portwarden_license_valid', { port: 'api' })).toBe(1);
  expect(await s.metric('portwarden_connections_total', { port: 'api', decision: 'deny', reason: 'revoked' })).toBe(1);
  expect(await s.metric('portwarden_connections_closed_total', { port: 'api', reason: 'revoked' })).toBe(1);
  expect((await s.admin('/status')).body.ports).toEqual([
    expect.objectContaining({ license: expect.objectContaining({ health: 'ok', lid: newLid, problem: `listen number ${oldNumber}: license ${oldLid} was revoked` }) }),
  ]);

  // then one: the configuration drops the old number; the new number's open connection is untouched
  await s.reload(testConfig([{ name: 'api', upstream: upstream.address, listen: `127.0.0.1:${newNumber}` }]));
  await expect(connectTo({ host: '127.0.0.1', port: oldNumber })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  expect(await echoes(onNew, 'still the same connection')).toBe(true);
  expect(await s.attempt(newNumber)).toBe('admitted');
  const after = (await s.admin('/status')).body.ports as Record<string, unknown>[];
  expect(after).toEqual([expect.objectContaining({ listen: `127.0.0.1:${newNumber}`, license: expect.objectContaining({ health: 'ok', lid: newLid }) })]);
  expect(after[0]?.license).not.toHaveProperty('problem');
  expect(after[0]).not.toHaveProperty('listens');
});
