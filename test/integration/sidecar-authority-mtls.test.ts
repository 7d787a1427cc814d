import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { issueBody, startTestAuthority, testAdminToken, type TestAuthority } from '../helpers/authority.ts';
import { createPki, type CertFiles, type TestCa, type TestPki } from '../helpers/pki.ts';
import { spawnSidecar, type SidecarProcess } from '../helpers/sidecar-cli.ts';
import { connectTo, echo, readAll, startUpstream } from '../helpers/sidecar-harness.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';
import { runPortwarden } from '../helpers/cli.ts';

/**
 * An authority serving https with a private CA and `tls.client_ca`, reached by the real sidecar
 * process and the real CLI: with `authority.ca` and the client certificate everything the
 * sidecar sends gets through (sync, JWKS, telemetry, inventory); without the certificate it is
 * refused, counted and logged, and the sidecar stays up. A renewed client certificate is taken
 * up without a restart; a broken one is refused and the old one stays.
 */

const IDENTITY = 'spiffe://test.local/ns/default/sa/client';

let pki: TestPki;
let ca: TestCa;
let server: CertFiles;
let sidecarCert: CertFiles;
let operator: CertFiles;
// a second client CA, for a sidecar whose renewed certificate comes from a new issuer
let ca2: TestCa;
let sidecarCert2: CertFiles;
let operator2: CertFiles;
beforeAll(async () => {
  pki = await createPki();
  [ca, ca2] = await Promise.all([pki.createCa('authority-ca'), pki.createCa('client-ca-2')]);
  [server, sidecarCert, operator, sidecarCert2, operator2] = await Promise.all([
    ca.issue('authority', { ips: ['127.0.0.1'] }),
    ca.issue('payments-sidecar'),
    ca.issue('operator'),
    ca2.issue('payments-sidecar-2'),
    ca2.issue('operator-2'),
  ]);
});
afterAll(() => pki.close());

type Admin = (method: 'GET' | 'POST', path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

/**
 * The https authority requiring client certificates signed by `clientCa` (a file; `ca` by
 * default), and an admin caller holding `adminCert`. `dataDir` and `listen` restart one.
 */
async function mtlsAuthority(options: { clientCa?: string; adminCert?: CertFiles; dataDir?: string; listen?: string } = {}): Promise<{ t: TestAuthority; admin: Admin }> {
  // license times on this machine's clock: the sidecar process checks them on its own
  const t = await startTestAuthority({
    clock: new ManualClock(Date.now()),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    config: {
      tls: { cert: server.cert, key: server.key, client_ca: options.clientCa ?? ca.cert },
      shutdown_timeout: '1s',
      ...(options.listen === undefined ? {} : { listen: options.listen }),
    },
  });
  expect(t.url).toMatch(/^https:/);
  const adminCert = options.adminCert ?? operator;
  const agent = new Agent({ connect: { ca: ca.certPem, cert: adminCert.certPem, key: adminCert.keyPem } });
  onTestFinished(() => agent.close());
  const admin = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const answer = await request(`${t.url}${path}`, {
      method,
      dispatcher: agent,
      headers: { authorization: `Bearer ${testAdminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: answer.statusCode, body: (await answer.body.json()) as Record<string, unknown> };
  };
  return { t, admin };
}

/** A sidecar file for `payments` against `url`, long-polling for 1s, reporting telemetry and inventory every 200ms. */
async function sidecarFile(url: string, token: string, upstream: string, authority: string[]): Promise<string> {
  const dir = await tempDir('portwarden-mtls-');
  const tokenFile = join(dir, 'sidecar.token');
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  const file = join(dir, 'sidecar.yaml');
  await writeFile(
    file,
    [
      'service: payments',
      'authority:',
      `  url: ${url}`,
      `  token_file: ${tokenFile}`,
      `  cache_dir: ${join(dir, 'cache')}`,
      '  refresh: 1s',
      ...authority.map((line) => `  ${line}`),
      'admin: { listen: 127.0.0.1:0 }',
      `identities: [{ cidr: 127.0.0.0/8, identity: "${IDENTITY}" }]`,
      'telemetry:',
      '  report_interval: 200ms',
      `  spool_dir: ${join(dir, 'spool')}`,
      'inventory: { interval: 200ms }',
      'shutdown_timeout: 2s',
      'ports:',
      `  - { name: api, listen: 127.0.0.1:0, upstream: ${upstream} }`,
    ].join('\n'),
  );
  return file;
}

/** Starts the sidecar process; its api port and admin URL from the start line. */
async function start(file: string): Promise<{ sidecar: SidecarProcess; api: { host: string; port: number }; admin: string }> {
  const sidecar = spawnSidecar(file);
  const started = await sidecar.waitForLog('sidecar started');
  const [host = '', port = ''] = String((started.ports as Record<string, string>).api).split(':');
  return { sidecar, api: { host, port: Number(port) }, admin: `http://${String(started.admin)}` };
}

/** A series' value from the sidecar's /metrics; undefined when it is absent, so a missing series never passes for 0. */
async function metric(admin: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

async function sidecarToken(admin: Admin): Promise<string> {
  const created = await admin('POST', '/v1/tokens', { role: 'sidecar', service: 'payments' });
  expect(created.status).toBe(201);
  return created.body.token as string;
}

it('a sidecar with authority.ca, cert and key syncs licenses, delivers telemetry and inventory, takes a replaced certificate on SIGHUP, and shuts down cleanly', async () => {
  const { t, admin } = await mtlsAuthority();
  const issued = await admin('POST', '/v1/licenses', issueBody({ service: 'payments', allow: [IDENTITY], ttl: '1h' }));
  expect(issued.status).toBe(201);
  const upstream = await startUpstream(echo);
  const tls = await tempDir('portwarden-mtls-files-');
  const files = { cert: join(tls, 'client.crt'), key: join(tls, 'client.key') };
  await Promise.all([copyFile(sidecarCert.cert, files.cert), copyFile(sidecarCert.key, files.key)]);
  const file = await sidecarFile(t.url, await sidecarToken(admin), upstream.address, [`ca: ${ca.cert}`, `cert: ${files.cert}`, `key: ${files.key}`]);
  const { sidecar, api, admin: adminUrl } = await start(file);

  // the license, verified with keys from the JWKS, both fetched over mutual TLS
  await sidecar.waitForLog('license applied', { lid: issued.body.lid });
  await waitFor(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, { timeoutMs: 15_000, what: 'ready on the synced license' });

  const client = await connectTo(api);
  const answer = readAll(client);
  client.end('ping');
  expect((await answer).data.toString()).toBe('ping');

  const store = t.authority.context.store;
  const callers = await waitFor(
    async () => {
      const rows = await store.read((tx) => tx.access.callers({ service: 'payments', limit: 10 }));
      return rows.length > 0 ? rows : undefined;
    },
    { timeoutMs: 15_000, what: 'the access record at the authority' },
  );
  expect(callers).toEqual([expect.objectContaining({ port: 'api', identity: IDENTITY, count: 1 })]);
  const inventory = await waitFor(() => store.read((tx) => tx.inventory.get('payments')), { timeoutMs: 15_000, what: 'an inventory report at the authority' });
  expect(inventory?.sidecarPorts).toContain(api.port);
  expect(await metric(adminUrl, 'portwarden_telemetry_batches_total{result="acked"}')).toBeGreaterThanOrEqual(1);
  expect((await metric(adminUrl, 'portwarden_authority_sync_total{result="error"}')) ?? 0).toBe(0); // a counter never incremented has no series
  expect(sidecar.logs.filter((line) => line.code === 'authority_unreachable')).toEqual([]);

  // SIGHUP re-reads the files: replaced ones apply to the requests from then on
  await Promise.all([copyFile(operator.cert, files.cert), copyFile(operator.key, files.key)]);
  sidecar.child.kill('SIGHUP');
  const applied = await sidecar.waitForLog('authority TLS files applied; new requests use them');
  expect(applied).toMatchObject({ level: 'info', keys: ['authority.cert', 'authority.key'], serial: new X509Certificate(operator.certPem).serialNumber });

  // one transport closed once: nothing hangs, nothing is cut
  sidecar.child.kill('SIGTERM');
  expect(await sidecar.exited).toBe(0);
  expect(sidecar.stderr()).toBe('');
});

it('without the client certificate the authority refuses every request; the sidecar counts and logs that, and stays up', async () => {
  const { t, admin } = await mtlsAuthority();
  const upstream = await startUpstream(echo);
  const file = await sidecarFile(t.url, await sidecarToken(admin), upstream.address, [`ca: ${ca.cert}`]);
  const { sidecar, api, admin: adminUrl } = await start(file);

  // a caller (denied: no license yet) makes an access record, so telemetry has a batch to send
  const client = await connectTo(api);
  await readAll(client);

  await sidecar.waitForLog('authority sync failed', { component: 'license-sync', code: 'authority_unreachable' });
  await sidecar.waitForLog('telemetry not delivered; spooling until the authority takes it', { component: 'telemetry', code: 'authority_unreachable' });
  await sidecar.waitForLog('authority gave no inventory answer; counting unregistered listeners locally', { component: 'inventory', code: 'authority_unreachable' });
  await waitFor(async () => ((await metric(adminUrl, 'portwarden_telemetry_batches_total{result="failed"}')) ?? 0) >= 1, { timeoutMs: 15_000, what: 'a failed telemetry batch counted' });
  expect(await metric(adminUrl, 'portwarden_authority_sync_total{result="error"}')).toBeGreaterThanOrEqual(1);
  expect((await metric(adminUrl, 'portwarden_telemetry_batches_total{result="acked"}')) ?? 0).toBe(0); // a counter never incremented has no series

  expect((await fetch(`${adminUrl}/livez`)).status).toBe(200);
  expect(sidecar.child.exitCode).toBeNull();
  const store = t.authority.context.store;
  expect(await store.read((tx) => tx.inventory.get('payments'))).toBeUndefined();
  expect(await store.read((tx) => tx.access.callers({ service: 'payments', limit: 10 }))).toEqual([]);

  sidecar.child.kill('SIGTERM');
  expect(await sidecar.exited).toBe(0);
});

/**
 * The client certificate and key as a Kubernetes secret volume (as cert-manager leaves them):
 * links through `..data`, so `rotate` replaces both with one rename.
 */
async function secretVolume(leaf: CertFiles): Promise<{ cert: string; key: string; rotate: (leaf: CertFiles, keyPem?: string) => Promise<void> }> {
  const dir = await tempDir('portwarden-mtls-secret-');
  let generation = 0;
  const rotate = async (next: CertFiles, keyPem = next.keyPem) => {
    const data = join(dir, `..gen${++generation}`);
    await mkdir(data);
    await Promise.all([writeFile(join(data, 'tls.crt'), next.certPem), writeFile(join(data, 'tls.key'), keyPem)]);
    await symlink(data, join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  await rotate(leaf);
  const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  await Promise.all([symlink('..data/tls.crt', files.cert), symlink('..data/tls.key', files.key)]);
  return { ...files, rotate };
}

it('a renewed client certificate is used without a restart, by sync, telemetry and inventory alike; a broken one is refused and the old one stays', async () => {
  // the authority trusts the sidecar's old issuer and its new one while the certificate is renewed
  const bundle = join(await tempDir('portwarden-mtls-bundle-'), 'client-ca.pem');
  await writeFile(bundle, `${ca.certPem}${ca2.certPem}`);
  const first = await mtlsAuthority({ clientCa: bundle });
  const issued = await first.admin('POST', '/v1/licenses', issueBody({ service: 'payments', allow: [IDENTITY], ttl: '1h' }));
  expect(issued.status).toBe(201);
  const upstream = await startUpstream(echo);
  const secret = await secretVolume(sidecarCert);
  const file = await sidecarFile(first.t.url, await sidecarToken(first.admin), upstream.address, [`ca: ${ca.cert}`, `cert: ${secret.cert}`, `key: ${secret.key}`]);
  const { sidecar, api, admin: adminUrl } = await start(file);
  await sidecar.waitForLog('license applied', { lid: issued.body.lid });

  // a renewal whose key is garbage: refused, counted, and the sync goes on with the old certificate
  await secret.rotate(sidecarCert2, '-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n');
  const refused = await sidecar.waitForLog('new authority TLS files refused; requests keep using the old ones');
  expect(refused).toMatchObject({ level: 'error', component: 'authority-transport', issues: [expect.stringMatching(/^authority\.key: cannot parse a private key/)] });
  expect(await metric(adminUrl, 'portwarden_authority_tls_reloads_total{result="refused"}')).toBeGreaterThanOrEqual(1);
  expect(await first.admin('POST', `/v1/licenses/${String(issued.body.lid)}/revoke`, {})).toMatchObject({ status: 200 });
  await sidecar.waitForLog('license revoked', { lid: issued.body.lid });

  // the renewal done right: from the new issuer
  await secret.rotate(sidecarCert2);
  const applied = await sidecar.waitForLog('authority TLS files applied; new requests use them');
  expect(applied).toMatchObject({ keys: ['authority.cert', 'authority.key'], serial: new X509Certificate(sidecarCert2.certPem).serialNumber });
  expect(await metric(adminUrl, 'portwarden_authority_tls_reloads_total{result="applied"}')).toBe(1);

  // the authority now trusts only the new issuer: whatever still used the old certificate would be refused
  const { port } = new URL(first.t.url);
  await first.t.authority.close();
  const restartedAt = Date.now();
  const second = await mtlsAuthority({ clientCa: ca2.cert, adminCert: operator2, dataDir: first.t.dataDir, listen: `127.0.0.1:${port}` });
  expect(second.t.url).toBe(first.t.url);
  const renewed = await second.admin('POST', '/v1/licenses', issueBody({ service: 'payments', allow: [IDENTITY], ttl: '1h' }));
  expect(renewed.status).toBe(201);
  await sidecar.waitForLog('license applied', { lid: renewed.body.lid });

  const client = await connectTo(api);
  const answer = readAll(client);
  client.end('ping');
  expect((await answer).data.toString()).toBe('ping');
  const store = second.t.authority.context.store;
  await waitFor(async () => (await store.read((tx) => tx.access.callers({ service: 'payments', limit: 10 }))).length > 0, { timeoutMs: 15_000, what: 'telemetry at the restarted authority' });
  await waitFor(async () => ((await store.read((tx) => tx.inventory.get('payments')))?.sentAt ?? 0) > restartedAt, { timeoutMs: 15_000, what: 'an inventory report at the restarted authority' });

  sidecar.child.kill('SIGTERM');
  expect(await sidecar.exited).toBe(0);
  expect(sidecar.stderr()).toBe('');
});

/** Runs the real binary, as an operator would. */
const portwarden = (env: Record<string, string>, ...args: string[]) => runPortwarden(args, env);

it('the CLI lists licenses with --authority-ca, --authority-cert and --authority-key, or the same from the environment', async () => {
  const { t, admin } = await mtlsAuthority();
  const issued = await admin('POST', '/v1/licenses', issueBody({ service: 'payments', ttl: '1h' }));
  const env = { PORTWARDEN_TOKEN: testAdminToken };

  const flags = await portwarden(env, 'licenses', 'list', '--authority', t.url, '--authority-ca', ca.cert, '--authority-cert', operator.cert, '--authority-key', operator.key, '--format', 'json');
  expect([flags.code, flags.stderr]).toEqual([0, '']);
  expect((JSON.parse(flags.stdout) as { licenses: { lid: string }[] }).licenses.map((license) => license.lid)).toEqual([issued.body.lid]);

  const fromEnv = await portwarden(
    { ...env, PORTWARDEN_AUTHORITY: t.url, PORTWARDEN_AUTHORITY_CA: ca.cert, PORTWARDEN_AUTHORITY_CERT: operator.cert, PORTWARDEN_AUTHORITY_KEY: operator.key },
    'licenses', 'list', '--format', 'json',
  );
  expect([fromEnv.code, fromEnv.stderr]).toEqual([0, '']);

  const noCert = await portwarden(env, 'licenses', 'list', '--authority', t.url, '--authority-ca', ca.cert);
  expect(noCert.code).toBe(1);
  expect(noCert.stderr).toMatch(/^portwarden licenses: authority_unreachable: cannot reach the authority at https:/);

  const halfPair = await portwarden(env, 'licenses', 'list', '--authority', t.url, '--authority-ca', ca.cert, '--authority-cert', operator.cert);
  expect([halfPair.code, halfPair.stderr]).toEqual([2, 'portwarden licenses: usage: --authority-key: required with the client certificate\n']);
});

it('refuses to start, exit 2 naming the key, on a client certificate it cannot use', async () => {
  const file = await sidecarFile('https://127.0.0.1:1', 'unused', '127.0.0.1:1', [`ca: ${ca.cert}`, `cert: ${join(pki.dir, 'absent.crt')}`, `key: ${ca.key}`]);
  const sidecar = spawnSidecar(file);
  expect(await sidecar.exited).toBe(2);
  expect(sidecar.stderr()).toBe(`${join(pki.dir, 'absent.crt')}: authority.cert: cannot read file (ENOENT)\n`);
});
