import { execFile } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
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

/**
 * An authority serving https with a private CA and `tls.client_ca`, reached by the real sidecar
 * process and the real CLI: with `authority.ca` and the client certificate everything the
 * sidecar sends gets through (sync, JWKS, telemetry, inventory); without the certificate it is
 * refused, counted and logged, and the sidecar stays up.
 */

const IDENTITY = 'spiffe://test.local/ns/default/sa/client';
const root = new URL('../..', import.meta.url).pathname;

let pki: TestPki;
let ca: TestCa;
let server: CertFiles;
let sidecarCert: CertFiles;
let operator: CertFiles;
beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('authority-ca');
  [server, sidecarCert, operator] = await Promise.all([
    ca.issue('authority', { ips: ['127.0.0.1'] }),
    ca.issue('payments-sidecar'),
    ca.issue('operator'),
  ]);
});
afterAll(() => pki.close());

/** The https authority requiring client certificates, and an admin caller holding one. */
async function mtlsAuthority(): Promise<{ t: TestAuthority; admin: (method: 'GET' | 'POST', path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }> }> {
  // license times on this machine's clock: the sidecar process checks them on its own
  const t = await startTestAuthority({ clock: new ManualClock(Date.now()), config: { tls: { cert: server.cert, key: server.key, client_ca: ca.cert } } });
  expect(t.url).toMatch(/^https:/);
  const agent = new Agent({ connect: { ca: ca.certPem, cert: operator.certPem, key: operator.keyPem } });
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

/** A sidecar file for `payments` against `url`, reporting telemetry and inventory every 200ms. */
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

/** A counter's value from the sidecar's /metrics, 0 when the series is absent. */
async function metric(admin: string, series: string): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

async function sidecarToken(admin: Awaited<ReturnType<typeof mtlsAuthority>>['admin']): Promise<string> {
  const created = await admin('POST', '/v1/tokens', { role: 'sidecar', service: 'payments' });
  expect(created.status).toBe(201);
  return created.body.token as string;
}

it('a sidecar with authority.ca, cert and key syncs licenses, delivers telemetry and inventory, and shuts down cleanly', async () => {
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
  expect(await metric(adminUrl, 'portwarden_authority_sync_total{result="error"}')).toBe(0);
  expect(sidecar.logs.filter((line) => line.code === 'authority_unreachable')).toEqual([]);

  // the files are read once: a reload that finds them replaced says they wait for a restart
  await Promise.all([copyFile(operator.cert, files.cert), copyFile(operator.key, files.key)]);
  sidecar.child.kill('SIGHUP');
  const changed = await sidecar.waitForLog('authority TLS files changed; they take effect at the next start');
  expect(changed).toMatchObject({ level: 'warn', keys: ['authority.cert', 'authority.key'] });

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
  await waitFor(async () => (await metric(adminUrl, 'portwarden_telemetry_batches_total{result="failed"}')) >= 1, { timeoutMs: 15_000, what: 'a failed telemetry batch counted' });
  expect(await metric(adminUrl, 'portwarden_authority_sync_total{result="error"}')).toBeGreaterThanOrEqual(1);
  expect(await metric(adminUrl, 'portwarden_telemetry_batches_total{result="acked"}')).toBe(0);

  expect((await fetch(`${adminUrl}/livez`)).status).toBe(200);
  expect(sidecar.child.exitCode).toBeNull();
  const store = t.authority.context.store;
  expect(await store.read((tx) => tx.inventory.get('payments'))).toBeUndefined();
  expect(await store.read((tx) => tx.access.callers({ service: 'payments', limit: 10 }))).toEqual([]);

  sidecar.child.kill('SIGTERM');
  expect(await sidecar.exited).toBe(0);
});

/** Runs the real binary, as an operator would. */
function portwarden(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(root, 'node_modules/.bin/node'), ['bin/portwarden.js', ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

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
