import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { expect, it } from 'vitest';
import { pinnedLicenseChecks, startTestAuthority, testAdminToken, type TestAuthority } from '../helpers/authority.ts';
import { spawnAuthority } from '../helpers/authority-process.ts';
import { runPortwarden } from '../helpers/cli.ts';

const hour = 3_600_000;

/** Runs the real binary as an operator would: `PORTWARDEN_AUTHORITY` and `PORTWARDEN_TOKEN` from the environment. */
const portwarden = (env: { authority: string; token?: string }, ...args: string[]) =>
  runPortwarden(args, { PORTWARDEN_AUTHORITY: env.authority, ...(env.token === undefined ? {} : { PORTWARDEN_TOKEN: env.token }) });

const as = (t: TestAuthority, token: string = testAdminToken) => ({ authority: t.url, token });

/** A plain-text table as rows of cells (columns are separated by two spaces or more). */
const rows = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/\s{2,}/));

interface KeyJson {
  kid: string;
  state: string;
  published: boolean;
  retired_at: string | null;
  last_token_expires_at: string | null;
}

it('keys rotate and keys list (table and json): the retired key stays listed and in the JWKS while a token it signed is live', async () => {
  const t = await startTestAuthority();
  const issued = await portwarden(as(t), 'licenses', 'issue', '--service', 'payments', '--port', 'api', '--number', '24100', '--allow', 'spiffe://corp/ns/billing/sa/api', '--ttl', '2h', '--format', 'json');
  expect([issued.code, issued.stderr]).toEqual([0, '']);
  const license = JSON.parse(issued.stdout) as { lid: string; kid: string; token: string; expires_at: string };

  const rotated = await portwarden(as(t), 'keys', 'rotate', '--format', 'json');
  expect([rotated.code, rotated.stderr]).toEqual([0, '']);
  const fresh = JSON.parse(rotated.stdout) as KeyJson;
  expect(fresh).toMatchObject({ state: 'active', published: true, retired_at: null, last_token_expires_at: null });
  expect(fresh.kid).not.toBe(license.kid);

  const listed = await portwarden(as(t), 'keys', 'list', '--format', 'json');
  expect(listed.code).toBe(0);
  const { keys } = JSON.parse(listed.stdout) as { keys: KeyJson[] };
  expect(keys).toHaveLength(2);
  expect(keys.find((k) => k.kid === license.kid)).toMatchObject({ state: 'retired', published: true, retired_at: new Date(t.clock.now()).toISOString(), last_token_expires_at: license.expires_at });
  expect(keys.find((k) => k.kid === fresh.kid)).toMatchObject({ state: 'active', published: true });

  // the license signed before the rotation still verifies against the published JWKS
  const jwks = (await t.api('GET', '/.well-known/jwks.json', { token: null })).body as JSONWebKeySet;
  expect(jwks.keys.map((k) => k.kid).sort()).toEqual([license.kid, fresh.kid].sort());
  const { payload } = await jwtVerify(license.token, createLocalJWKSet(jwks), pinnedLicenseChecks(t.clock.now() + hour));
  expect(payload).toMatchObject({ lid: license.lid, sub: 'payments/api' });
  const after = (await t.api('POST', '/v1/licenses', { body: { service: 'orders', port_name: 'grpc', port: { number: 24101, protocol: 'tcp' }, allow: ['spiffe://corp/x'] } })).body;
  expect(decodeProtectedHeader(after.token).kid).toBe(fresh.kid);

  // a second rotation in table form; the key between signed a token too, so all three stay published
  const again = await portwarden(as(t), 'keys', 'rotate');
  expect(again.code).toBe(0);
  const third = /^signing with key (\S+)\n$/.exec(again.stdout)?.[1];
  expect(third).toBeDefined();
  const table = await portwarden(as(t), 'keys', 'list');
  expect(table.code).toBe(0);
  const lines = rows(table.stdout);
  expect(lines[0]).toEqual(['KID', 'STATE', 'PUBLISHED', 'CREATED', 'RETIRED', 'LAST TOKEN EXPIRES']);
  const byKid = new Map(lines.slice(1).map((line) => [line[0], line]));
  expect(byKid.size).toBe(3);
  expect(byKid.get(license.kid)?.slice(1, 3)).toEqual(['retired', 'true']);
  expect(byKid.get(license.kid)?.[5]).toBe(license.expires_at);
  expect(byKid.get(fresh.kid)?.slice(1, 3)).toEqual(['retired', 'true']);
  expect(byKid.get(third)).toEqual([third, 'active', 'true', expect.any(String), '-', '-']);

  // once the old key's last token has expired it is still listed, but no longer published
  t.clock.advance(2 * hour);
  const later = JSON.parse((await portwarden(as(t), 'keys', 'list', '--format', 'json')).stdout) as { keys: KeyJson[] };
  expect(later.keys.find((k) => k.kid === license.kid)).toMatchObject({ state: 'retired', published: false });
  expect(((await t.api('GET', '/.well-known/jwks.json', { token: null })).body as JSONWebKeySet).keys.map((k) => k.kid)).not.toContain(license.kid);
});

it('tokens create, list and revoke (table and json): the secret is never listed, and a revoked token gets 401 unauthenticated', async () => {
  const t = await startTestAuthority();
  const created = await portwarden(as(t), 'tokens', 'create', '--role', 'sidecar', '--service', 'payments', '--name', 'payments-sidecar', '--format', 'json');
  expect([created.code, created.stderr]).toEqual([0, '']);
  const token = JSON.parse(created.stdout) as { id: string; token: string; role: string; service: string; name: string; revoked_at: string | null };
  expect(token).toMatchObject({ role: 'sidecar', service: 'payments', name: 'payments-sidecar', revoked_at: null });
  expect(token.token).toMatch(/^pw\.[0-9a-f]{16}\.[\w-]{43}$/);
  const secret = token.token.split('.')[2] ?? '';
  expect((await t.api('GET', '/v1/licenses?service=payments', { token: token.token })).status).toBe(200);

  const table = await portwarden(as(t), 'tokens', 'list');
  expect(table.code).toBe(0);
  const lines = rows(table.stdout);
  expect(lines[0]).toEqual(['ID', 'ROLE', 'SERVICE', 'NAME', 'CREATED', 'REVOKED']);
  expect(lines).toContainEqual([token.id, 'sidecar', 'payments', 'payments-sidecar', new Date(t.clock.now()).toISOString(), '-']);
  expect(table.stdout).not.toContain(secret);
  const json = await portwarden(as(t), 'tokens', 'list', '--format', 'json');
  const listed = (JSON.parse(json.stdout) as { tokens: Record<string, unknown>[] }).tokens;
  expect(listed.find((entry) => entry.id === token.id)).toEqual({
    id: token.id,
    name: 'payments-sidecar',
    role: 'sidecar',
    service: 'payments',
    created_at: new Date(t.clock.now()).toISOString(),
    created_by: 'env-admin',
    revoked_at: null,
  });
  expect(json.stdout).not.toContain(secret);

  t.clock.advance(hour);
  const revoked = await portwarden(as(t), 'tokens', 'revoke', token.id, '--format', 'json');
  expect([revoked.code, revoked.stderr]).toEqual([0, '']);
  expect(JSON.parse(revoked.stdout)).toMatchObject({ id: token.id, revoked_at: new Date(t.clock.now()).toISOString() });
  expect(revoked.stdout).not.toContain(secret);
  const refused = await t.api('GET', '/v1/licenses?service=payments', { token: token.token });
  expect([refused.status, refused.body.error.code]).toEqual([401, 'unauthenticated']);
  // the CLI holding the revoked token is refused too: exit 1, the code on stderr
  const cli = await portwarden(as(t, token.token), 'licenses', 'list', '--service', 'payments');
  expect([cli.code, cli.stdout, cli.stderr]).toEqual([1, '', expect.stringMatching(/^portwarden licenses: unauthenticated: /)]);

  const twice = await portwarden(as(t), 'tokens', 'revoke', token.id);
  expect([twice.code, twice.stderr]).toEqual([1, `portwarden tokens: conflict: token ${token.id} is already revoked\n`]);
  const audit = await portwarden(as(t), 'audit', '--target', `token/${token.id}`, '--format', 'json');
  expect((JSON.parse(audit.stdout) as { entries: { actor: string; action: string; target: string }[] }).entries.map((e) => [e.actor, e.action, e.target])).toEqual([
    ['env-admin', 'token.created', `token/${token.id}`],
    ['env-admin', 'token.revoked', `token/${token.id}`],
  ]);
  expect(audit.stdout).not.toContain(secret);
});

it('licenses renew keeps the lid with a new jti and a later exp; licenses show; audit --since, --actor and --target narrow the log', async () => {
  const t = await startTestAuthority();
  const operator = (await t.api('POST', '/v1/tokens', { body: { role: 'admin', name: 'operator' } })).body as { id: string; token: string };
  t.clock.advance(2 * hour);
  const issued = (await t.api('POST', '/v1/licenses', {
    token: operator.token,
    body: { service: 'payments', port_name: 'api', port: { number: 24200, protocol: 'tcp' }, allow: ['spiffe://corp/ns/billing/sa/api'], ttl: '1h', env: 'prod' },
  })).body as { lid: string; jti: string; expires_at: string; token: string };

  t.clock.advance(10 * 60_000);
  const renewed = await portwarden(as(t, operator.token), 'licenses', 'renew', issued.lid, '--format', 'json');
  expect([renewed.code, renewed.stderr]).toEqual([0, '']);
  const view = JSON.parse(renewed.stdout) as { lid: string; jti: string; expires_at: string; renewals: number; state: string; token: string };
  expect(view).toMatchObject({ lid: issued.lid, state: 'active', renewals: 1, expires_at: new Date(t.clock.now() + hour).toISOString() });
  expect(view.jti).not.toBe(issued.jti);
  expect(Date.parse(view.expires_at)).toBeGreaterThan(Date.parse(issued.expires_at));
  const jwks = createLocalJWKSet((await t.api('GET', '/.well-known/jwks.json', { token: null })).body as JSONWebKeySet);
  const { payload } = await jwtVerify(view.token, jwks, pinnedLicenseChecks(t.clock.now()));
  expect(payload).toMatchObject({ lid: issued.lid, jti: view.jti, exp: Date.parse(view.expires_at) / 1000 });

  const shown = await portwarden(as(t), 'licenses', 'show', issued.lid);
  expect(shown.code).toBe(0);
  const fields = new Map(rows(shown.stdout.split('\n\n')[0] ?? '').map(([field, value]) => [field, value]));
  expect(fields.get('FIELD')).toBe('VALUE');
  expect(fields.get('lid')).toBe(issued.lid);
  expect(fields.get('jti')).toBe(view.jti);
  expect(fields.get('sub')).toBe('payments/api');
  expect(fields.get('port')).toBe('24200/tcp');
  expect(fields.get('state')).toBe('active');
  expect(fields.get('renewals')).toBe('1');
  expect(fields.get('expires_at')).toBe(view.expires_at);
  // an active license shows its current token last
  expect(shown.stdout.trimEnd().split('\n').at(-1)).toBe(view.token);

  // the admin revokes the operator's token: every change has its actor, action and target
  await t.api('POST', `/v1/tokens/${operator.id}/revoke`);
  type Entry = { actor: string; action: string; target: string; before: unknown; after: unknown };
  const audit = async (...filters: string[]) => {
    const answer = await portwarden(as(t), 'audit', ...filters, '--format', 'json');
    expect([answer.code, answer.stderr]).toEqual([0, '']);
    return (JSON.parse(answer.stdout) as { entries: Entry[] }).entries;
  };
  const all = await audit();
  expect(all.map((e) => [e.actor, e.action, e.target])).toEqual([
    ['system', 'key.created', expect.stringMatching(/^key\//)],
    ['env-admin', 'token.created', `token/${operator.id}`],
    [operator.id, 'license.issued', `license/${issued.lid}`],
    [operator.id, 'license.renewed', `license/${issued.lid}`],
    ['env-admin', 'token.revoked', `token/${operator.id}`],
  ]);
  expect(all[3]).toMatchObject({ before: { jti: issued.jti }, after: { jti: view.jti } });
  expect(JSON.stringify(all)).not.toContain(view.token);
  expect((await audit('--since', '1h')).map((e) => e.action)).toEqual(['license.issued', 'license.renewed', 'token.revoked']);
  expect((await audit('--actor', operator.id, '--target', `license/${issued.lid}`)).map((e) => e.action)).toEqual(['license.issued', 'license.renewed']);

  const table = await portwarden(as(t), 'audit', '--since', '5m', '--actor', 'env-admin');
  expect(table.code).toBe(0);
  expect(rows(table.stdout)).toEqual([
    ['AT', 'ACTOR', 'ACTION', 'TARGET'],
    [new Date(t.clock.now()).toISOString(), 'env-admin', 'token.revoked', `token/${operator.id}`],
  ]);
  const none = await portwarden(as(t), 'audit', '--actor', 'nobody');
  expect([none.code, none.stdout]).toEqual([0, 'no entries\n']);
});

it('with approval: manual, ports request waits; ports approve and ports reject --reason decide, and the audit log has both', async () => {
  const t = await startTestAuthority({ config: { register: { approval: 'manual' } } });
  const first = await portwarden(as(t), 'ports', 'request', '--service', 'payments', '--name', 'api', '--env', 'prod', '--reason', 'new checkout API', '--license', '--allow', 'spiffe://corp/ns/billing/sa/api', '--format', 'json');
  expect([first.code, first.stderr]).toEqual([0, '']);
  const payments = JSON.parse(first.stdout) as { id: string; number: number; state: string };
  expect(payments).toMatchObject({ state: 'requested', licenses: [], pending_license: { allow: ['spiffe://corp/ns/billing/sa/api'] } });
  const second = await portwarden(as(t), 'ports', 'request', '--service', 'orders', '--name', 'grpc', '--env', 'prod');
  expect(second.code).toBe(0);
  const orders = /^id\s+(\S+)$/m.exec(second.stdout)?.[1] ?? '';
  expect(second.stdout).toMatch(/^state\s+requested$/m);

  t.clock.advance(hour);
  const approved = await portwarden(as(t), 'ports', 'approve', 'payments/api', '--env', 'prod');
  expect([approved.code, approved.stderr]).toEqual([0, '']);
  expect(approved.stdout).toMatch(/^state\s+active$/m);
  expect(approved.stdout).toMatch(/^approved\s+2026-01-01T13:00:00\.000Z by env-admin$/m);
  expect(approved.stdout).toMatch(new RegExp(`^lic_\\S+\\s+${payments.number}\\s+active\\s+spiffe://corp/ns/billing/sa/api\\s`, 'm'));

  const rejected = await portwarden(as(t), 'ports', 'reject', orders, '--reason', 'use the shared gateway');
  expect([rejected.code, rejected.stderr]).toEqual([0, '']);
  expect(rejected.stdout).toMatch(/^state\s+rejected$/m);
  expect(rejected.stdout).toMatch(/^rejected\s+2026-01-01T13:00:00\.000Z by env-admin$/m);
  expect(rejected.stdout).toMatch(/^reason\s+use the shared gateway$/m);

  // both decisions are final: a second one is a conflict, exit 1
  const again = await portwarden(as(t), 'ports', 'approve', orders, '--format', 'json');
  expect([again.code, again.stdout, again.stderr]).toEqual([1, '', 'portwarden ports: conflict: a port cannot go from rejected to active (rejected is final)\n']);

  const list = await portwarden(as(t), 'ports', 'list', '--env', 'prod', '--format', 'json');
  expect((JSON.parse(list.stdout) as { ports: { id: string; state: string }[] }).ports.map((p) => [p.id, p.state]).sort()).toEqual(
    [
      [payments.id, 'active'],
      [orders, 'rejected'],
    ].sort(),
  );
  const audit = await portwarden(as(t), 'audit', '--target', 'port/*', '--format', 'json');
  const entries = (JSON.parse(audit.stdout) as { entries: { actor: string; action: string; target: string; after: { state: string; reason?: string } }[] }).entries;
  expect(entries.map((e) => [e.actor, e.action, e.target, e.after.state])).toEqual([
    ['env-admin', 'port.request', `port/${payments.id}`, 'requested'],
    ['env-admin', 'port.request', `port/${orders}`, 'requested'],
    ['env-admin', 'port.approve', `port/${payments.id}`, 'active'],
    ['env-admin', 'port.reject', `port/${orders}`, 'rejected'],
  ]);
  expect(entries[3]?.after.reason).toBe('use the shared gateway');
});

it('the authority keeps its data directory 0700 and authority.db and admin.token 0600', async () => {
  const authority = await spawnAuthority();
  const { url, dataDir, adminTokenFile: tokenFile, adminToken: admin } = authority;
  expect(tokenFile).toBe(join(dataDir, 'admin.token'));
  // a write, so SQLite's WAL files exist too
  expect((await portwarden({ authority: url, token: admin }, 'keys', 'rotate')).code).toBe(0);

  const mode = (path: string) => statSync(path).mode & 0o777;
  expect(mode(dataDir)).toBe(0o700);
  expect(mode(join(dataDir, 'authority.db'))).toBe(0o600);
  expect(mode(tokenFile)).toBe(0o600);
  const files = readdirSync(dataDir);
  expect(files).toEqual(expect.arrayContaining(['authority.db', 'admin.token']));
  // whatever else SQLite keeps next to the database (WAL, shared memory) holds its pages too
  expect(files.map((file) => [file, mode(join(dataDir, file))])).toEqual(files.map((file) => [file, 0o600]));

  authority.child.kill('SIGTERM');
  expect(await authority.exited).toBe(0);
  expect(authority.log()).not.toContain(admin);
  expect(readdirSync(dataDir).map((file) => [file, mode(join(dataDir, file))])).toEqual(readdirSync(dataDir).map((file) => [file, 0o600]));
});

it('exits 2 on usage and bad input, 1 on a refusal (not found, conflict, unauthenticated, unreachable), 0 on --help', async () => {
  const t = await startTestAuthority();
  const cases: [string[], number, RegExp][] = [
    [['bogus'], 2, /^portwarden: unknown command "bogus"/],
    [['keys', 'spin'], 2, /^portwarden keys: usage: unknown subcommand "spin"/],
    [['keys', 'list', '--format', 'yaml'], 2, /^portwarden keys: usage: --format must be "table" or "json", not "yaml"/],
    [['tokens', 'create', '--role', 'root'], 2, /^portwarden tokens: usage: --role must be admin, viewer or sidecar/],
    [['licenses', 'renew'], 2, /^portwarden licenses: usage: licenses renew takes one LID/],
    [['audit', '--since', 'yesterday'], 2, /^portwarden audit: bad_request: since:/],
    [['licenses', 'show', 'lic_missing'], 1, /^portwarden licenses: not_found: /],
    [['ports', 'reject', '999', '--reason', 'no'], 1, /^portwarden ports: not_found: /],
  ];
  for (const [args, code, stderr] of cases) {
    const answer = await portwarden(as(t), ...args);
    expect([args.join(' '), answer.code, answer.stderr]).toEqual([args.join(' '), code, expect.stringMatching(stderr)]);
  }
  const bare = await portwarden(as(t));
  expect([bare.code, bare.stdout]).toEqual([2, expect.stringMatching(/^Usage: portwarden <command>/)]);

  const noToken = await portwarden({ authority: t.url }, 'keys', 'list');
  expect([noToken.code, noToken.stderr]).toEqual([1, expect.stringMatching(/^portwarden keys: unauthenticated: /)]);
  const unreachable = await portwarden({ authority: 'http://127.0.0.1:9', token: testAdminToken }, 'audit');
  expect([unreachable.code, unreachable.stderr]).toEqual([1, expect.stringMatching(/^portwarden audit: authority_unreachable: /)]);
  const help = await portwarden(as(t), 'tokens', '--help');
  expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('Usage: portwarden tokens <subcommand>')]);
}, 60_000);
