import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { snapshotSchema } from '../../src/register/snapshot.ts';
import { main } from '../../src/cli/main.ts';
import { startTestAuthority, testAdminToken, type TestAuthority } from '../helpers/authority.ts';
import { tempDir } from '../helpers/tmp.ts';
import { runPortwarden } from '../helpers/cli.ts';

const root = new URL('../..', import.meta.url).pathname;
const day = 86_400_000;

/** Runs the real binary against the test authority, as an operator would. */
const portwarden = (t: TestAuthority, ...args: string[]) => runPortwarden(args, { PORTWARDEN_AUTHORITY: t.url, PORTWARDEN_TOKEN: testAdminToken });

it('requests, lists and shows ports, with exit codes 0 and 1', async () => {
  const t = await startTestAuthority({ config: { licenses: { ttl: '60d', max_lifetime: '90d' } } });
  const requested = await portwarden(t, 'ports', 'request', '--service', 'payments', '--name', 'api', '--env', 'prod', '--owner', 'team-payments', '--depends-on', 'billing/api', '--license', '--allow', 'spiffe://corp/ns/billing/sa/api', 'spiffe://corp/ns/ops/*', '--format', 'json');
  expect([requested.code, requested.stderr]).toEqual([0, '']);
  const port = JSON.parse(requested.stdout);
  expect(port).toMatchObject({ service: 'payments', name: 'api', env: 'prod', state: 'active', owner: 'team-payments', dependencies: ['billing/api'], allocation: { source: 'hash', range: 'default' } });
  expect(port.licenses[0]).toMatchObject({ number: port.number, state: 'active', allow: ['spiffe://corp/ns/billing/sa/api', 'spiffe://corp/ns/ops/*'] });

  const table = await portwarden(t, 'ports', 'request', '--service', 'orders', '--name', 'grpc', '--env', 'prod');
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/^FIELD\s+VALUE\nport\s+orders\/grpc\n/);
  expect(table.stdout).toContain('allocation   hash in range default');
  expect(table.stdout).toContain('no licenses');

  const reserved = await portwarden(t, 'ports', 'request', '--service', 'web', '--name', 'https', '--number', '443');
  expect([reserved.code, reserved.stdout]).toEqual([1, '']);
  expect(reserved.stderr).toBe('portwarden ports: port_reserved: refused by rule reserved: 443 is reserved (reserved 1-1023) and never assigned\n');
  const taken = await portwarden(t, 'ports', 'request', '--service', 'web', '--name', 'https', '--env', 'prod', '--number', String(port.number));
  expect([taken.code, taken.stderr]).toEqual([1, `portwarden ports: port_taken: refused by rule taken: ${port.number}/tcp is taken by payments/api in prod\n`]);
  const invalid = await portwarden(t, 'ports', 'request', '--service', 'Web!', '--name', 'x');
  expect([invalid.code, invalid.stderr]).toEqual([2, expect.stringMatching(/^portwarden ports: bad_request: service: /)]);

  const listed = await portwarden(t, 'ports', 'list', '--env', 'prod');
  expect(listed.code).toBe(0);
  const lines = listed.stdout.trimEnd().split('\n').map((line) => line.split(/\s{2,}/));
  expect(lines[0]).toEqual(['ID', 'PORT', 'ENV', 'NUMBER', 'STATE', 'OWNER', 'LAST ACCESS']);
  expect(lines.slice(1)).toEqual([
    ['2', 'orders/grpc', 'prod', expect.stringMatching(/^\d+\/tcp$/), 'active', 'orders', 'never'],
    [port.id, 'payments/api', 'prod', `${port.number}/tcp`, 'active', 'team-payments', 'never'],
  ]);

  const shown = await portwarden(t, 'ports', 'show', 'payments/api', '--env', 'prod');
  expect(shown.code).toBe(0);
  expect(shown.stdout).toMatch(new RegExp(`number\\s+${port.number}/tcp\\n`));
  expect(shown.stdout).toMatch(/owner\s+team-payments\n/);
  expect(shown.stdout).toContain(port.licenses[0].lid);
  const missing = await portwarden(t, 'ports', 'show', 'payments/api', '--env', 'staging');
  expect([missing.code, missing.stderr]).toEqual([1, 'portwarden ports: not_found: payments/api in staging is not registered\n']);

  const help = await portwarden(t, 'ports', '--help');
  expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('Usage: portwarden ports <subcommand>')]);
  const noToken = await new Promise<number>((resolve) =>
    execFile(join(root, 'node_modules/.bin/node'), ['bin/portwarden.js', 'ports', 'list'], { cwd: root, env: { PATH: process.env.PATH ?? '', PORTWARDEN_AUTHORITY: t.url } }, (err) => resolve(err ? Number(err.code) : 0)),
  );
  expect(noToken).toBe(1);
});

it('lists stale ports and reclaims them: a dry run unless --yes', async () => {
  const t = await startTestAuthority({ config: { register: { stale_after: '30d' } } });
  await t.api('POST', '/v1/ports', { body: { service: 'payments', name: 'api', env: 'prod' } });
  const none = await portwarden(t, 'ports', 'reclaim');
  expect([none.code, none.stdout]).toEqual([0, 'no stale ports (unused for 30d)\n']);

  t.clock.advance(31 * day);
  const stale = await portwarden(t, 'ports', 'list', '--stale', '--format', 'json');
  expect(JSON.parse(stale.stdout).ports.map((p: { name: string; state: string }) => [p.name, p.state])).toEqual([['api', 'active']]);

  const dry = await portwarden(t, 'ports', 'reclaim');
  expect(dry.code).toBe(0);
  expect(dry.stdout.split('\n')[0]).toBe('dry run: 1 stale port (unused for 30d) would be released; run with --yes to release them');
  expect((await t.api('GET', '/v1/ports?state=active')).body.ports).toHaveLength(1);

  const done = await portwarden(t, 'ports', 'reclaim', '--yes');
  expect(done.code).toBe(0);
  expect(done.stdout.split('\n')[0]).toBe('released 1 stale port (unused for 30d)');
  expect((await t.api('GET', '/v1/ports?state=released')).body.ports.map((p: { name: string }) => p.name)).toEqual(['api']);
  const after = await portwarden(t, 'ports', 'list', '--stale');
  expect([after.code, after.stdout]).toEqual([0, 'no ports\n']);
});

it('transitions, exports and releases a port, with exit codes 0 and 1', async () => {
  const t = await startTestAuthority();
  const port = (await t.api('POST', '/v1/ports', { body: { service: 'payments', name: 'api', env: 'prod', license: { allow: ['spiffe://corp/ns/billing/sa/api'] } } })).body;
  await t.api('POST', '/v1/ports', { body: { service: 'orders', name: 'grpc', env: 'prod' } });
  const to = port.number + 1;
  const moving = await portwarden(t, 'ports', 'transition', 'payments/api', '--env', 'prod', '--to', String(to), '--window', '1h', '--format', 'json');
  expect(moving.code).toBe(0);
  expect(JSON.parse(moving.stdout)).toMatchObject({ state: 'transitioning', transition: { to }, licenses: [{ number: port.number }, { number: to, state: 'active' }] });
  const cancelled = await portwarden(t, 'ports', 'transition', port.id, '--cancel');
  expect([cancelled.code, cancelled.stdout]).toEqual([0, expect.stringMatching(new RegExp(`state\\s+active\\n`))]);
  const notMoving = await portwarden(t, 'ports', 'transition', port.id, '--complete');
  expect([notMoving.code, notMoving.stderr]).toEqual([1, 'portwarden ports: conflict: payments/api in prod is active, not transitioning\n']);

  const out = join(await tempDir(), 'register.json');
  const exported = await portwarden(t, 'ports', 'export', '--out', out);
  expect([exported.code, exported.stdout]).toEqual([0, `wrote 2 ports to ${out}\n`]);
  const snapshot = snapshotSchema.parse(JSON.parse(await readFile(out, 'utf8')));
  expect(snapshot.ports.map((p) => `${p.service}/${p.name}`)).toEqual(['orders/grpc', 'payments/api']);

  const released = await portwarden(t, 'ports', 'release', 'payments/api', '--env', 'prod', '--reason', 'retired', '--format', 'json');
  expect(released.code).toBe(0);
  expect(JSON.parse(released.stdout)).toMatchObject({ state: 'released', reason: 'retired', licenses: [{ state: 'revoked' }, { state: 'revoked' }] });
  const again = await portwarden(t, 'ports', 'release', port.id);
  expect([again.code, again.stderr]).toEqual([1, 'portwarden ports: conflict: a port cannot go from released to released (released is final)\n']);
});

it('refuses bad input with exit 2 before calling the authority', async () => {
  let stderr = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      stderr += chunk.toString();
      callback();
    },
  });
  const ctx = { env: { PORTWARDEN_AUTHORITY: 'http://127.0.0.1:9' }, stdout: sink, stderr: sink, signal: new AbortController().signal };
  for (const bad of [
    ['ports', 'request', '--service', 'web'],
    ['ports', 'request', '--service', 'web', '--name', 'x', '--allow', 'spiffe://a'],
    ['ports', 'request', '--service', 'web', '--name', 'x', '--number', '70000'],
    ['ports', 'transition', 'payments/api', '--to', '20001'],
    ['ports', 'transition', 'payments/api', '--cancel', '--complete'],
    ['ports', 'transition', 'payments/api', '--to', '20001', '--window', 'soon'],
    ['ports', 'show', '12', '--env', 'prod'],
    ['ports', 'list', '--yes'],
    ['ports', 'bogus'],
    ['ports'],
  ]) {
    stderr = '';
    expect([bad.join(' '), await main(bad, ctx)]).toEqual([bad.join(' '), 2]);
    expect(stderr).toMatch(/^portwarden ports: usage: /);
  }
});
