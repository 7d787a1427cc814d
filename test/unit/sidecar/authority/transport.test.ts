import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError } from '../../../../src/shared/config/config-error.ts';
import { createLogger } from '../../../../src/shared/logger.ts';
import { AuthorityTransport, ownTransport, sharedTransport, type AuthorityTls, type TransportHandle } from '../../../../src/sidecar/authority/transport.ts';
import { createSidecarMetrics } from '../../../../src/sidecar/admin/metrics.ts';
import { createPki, type CertFiles, type TestCa, type TestPki } from '../../../helpers/pki.ts';
import { tempDir } from '../../../helpers/tmp.ts';
import { waitFor } from '../../../helpers/wait.ts';

let pki: TestPki;
let ca: TestCa;
let server: CertFiles;
let first: CertFiles;
let second: CertFiles;
beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('authority-ca');
  [server, first, second] = await Promise.all([ca.issue('authority', { ips: ['127.0.0.1'] }), ca.issue('sidecar-1'), ca.issue('sidecar-2', { days: 90 })]);
});
afterAll(() => pki.close());

const serial = (leaf: CertFiles) => new X509Certificate(leaf.certPem).serialNumber;

/** The ConfigError issues of a refused open, as `key: message`. */
async function refusal(open: Promise<unknown>): Promise<{ code: string; issues: string[] }> {
  const err = await open.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  const { code, issues } = err as ConfigError;
  return { code, issues: issues.map((issue) => `${issue.key}: ${issue.message}`) };
}

/**
 * An https authority stand-in requiring a client certificate from `ca`: `/whoami` answers with
 * the serial of the certificate the connection was made with, `/hold` the same once `release()`
 * is called. `connections(serial)` counts the open connections made with that certificate.
 */
async function mtlsServer(): Promise<{ url: string; holding: () => number; release: () => void; connections: (serial: string) => number }> {
  const held: (() => void)[] = [];
  const open = new Map<string, number>();
  const peer = (socket: TLSSocket) => socket.getPeerCertificate().serialNumber;
  const https: Server = createServer({ cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const answer = () => res.end(peer(req.socket as TLSSocket));
    if (req.url === '/hold') held.push(answer);
    else answer();
  });
  https.on('secureConnection', (socket: TLSSocket) => {
    const id = peer(socket);
    open.set(id, (open.get(id) ?? 0) + 1);
    socket.on('close', () => open.set(id, (open.get(id) ?? 0) - 1));
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    https.closeAllConnections();
    return new Promise<void>((resolve) => https.close(() => resolve()));
  });
  return {
    url: `https://127.0.0.1:${(https.address() as AddressInfo).port}`,
    holding: () => held.length,
    release: () => held.splice(0).forEach((answer) => answer()),
    connections: (id) => open.get(id) ?? 0,
  };
}

async function get(handle: TransportHandle, url: string): Promise<{ status: number; serial: string }> {
  const response = await handle.request(url, { method: 'GET' });
  return { status: response.statusCode, serial: await response.body.text() };
}

/**
 * ca.pem, tls.crt and tls.key laid out as a Kubernetes secret volume: links through `..data`
 * to a directory of this generation, so `rotate` swaps all three with one rename.
 */
async function secretVolume(leaf: CertFiles): Promise<{ files: Required<AuthorityTls>; rotate: (leaf: CertFiles, key?: string) => Promise<void> }> {
  const dir = await tempDir('portwarden-secret-');
  let generation = 0;
  const rotate = async (next: CertFiles, key = next.keyPem) => {
    const data = join(dir, `..gen${++generation}`);
    await mkdir(data);
    await Promise.all([copyFile(ca.cert, join(data, 'ca.pem')), writeFile(join(data, 'tls.crt'), next.certPem), writeFile(join(data, 'tls.key'), key)]);
    await symlink(data, join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  await rotate(leaf);
  const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  await Promise.all([symlink('..data/ca.pem', files.ca), symlink('..data/tls.crt', files.cert), symlink('..data/tls.key', files.key)]);
  return { files, rotate };
}

async function open(files: AuthorityTls, watch: boolean) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
  const transport = await AuthorityTransport.open(files, { logger, metrics, watch, debounceMs: 20 });
  onTestFinished(() => transport.close());
  const reloads = async (result: string) =>
    (await metrics.registry.getSingleMetric('portwarden_authority_tls_reloads_total')?.get())?.values.find((v) => v.labels.result === result)?.value ?? 0;
  const expiry = async () => (await metrics.registry.getSingleMetric('portwarden_authority_tls_cert_expiry_timestamp_seconds')?.get())?.values[0]?.value;
  return { transport, lines, reloads, expiry };
}

describe('AuthorityTransport', () => {
  it('opens on the system CAs when nothing is set, and closes once however often it is asked', async () => {
    const transport = await AuthorityTransport.open({});
    await Promise.all([transport.close(), transport.close()]);
    await transport.close();
    expect(transport.dispatcher().closed).toBe(true);
  });

  it('refuses to open on files it cannot use, naming every key at once and no key material', async () => {
    const dir = await tempDir();
    const notPem = join(dir, 'ca.txt');
    await writeFile(notPem, 'not a certificate\n');
    const unusable = await refusal(AuthorityTransport.open({ ca: notPem, cert: first.cert, key: second.key }));
    expect(unusable).toEqual({
      code: 'config_invalid',
      issues: ['authority.ca: holds no PEM certificate', 'authority.key: does not belong to the client certificate'],
    });
    expect(JSON.stringify(unusable)).not.toContain(second.keyPem.split('\n')[1]);

    const missing = await refusal(AuthorityTransport.open({ ca: join(dir, 'absent.pem'), cert: first.cert, key: first.cert }));
    expect(missing).toEqual({
      code: 'config_unreadable',
      issues: ['authority.ca: cannot read file (ENOENT)', expect.stringMatching(/^authority\.key: cannot parse a private key/)],
    });
    // the schema refuses this in a file; a caller building the settings by hand is told as well
    expect((await refusal(AuthorityTransport.open({ cert: first.cert }))).issues).toEqual(['authority.key: required with the client certificate']);
  });

  it('presents a replaced client certificate on the next request, while one in flight finishes on the old pool, which then closes', async () => {
    const authority = await mtlsServer();
    const volume = await secretVolume(first);
    const { transport, lines, reloads, expiry } = await open(volume.files, true);
    // what sync, telemetry and inventory hold: made once, asking the transport per request
    const shared = sharedTransport(transport);
    expect(await get(shared, `${authority.url}/whoami`)).toEqual({ status: 200, serial: serial(first) });
    const notAfter = (leaf: CertFiles) => Math.floor(new X509Certificate(leaf.certPem).validToDate.getTime() / 1000);
    expect(await expiry()).toBe(notAfter(first));
    const held = get(shared, `${authority.url}/hold`);
    await waitFor(() => authority.holding() === 1, { what: 'the held request at the server' });
    const old = transport.dispatcher();

    await volume.rotate(second);
    await waitFor(async () => (await get(shared, `${authority.url}/whoami`)).serial === serial(second), { what: 'a request with the new certificate' });
    expect(transport.dispatcher()).not.toBe(old);
    // the old pool takes no new requests; its idle connections go, the busy one stays
    expect([old.closed, old.destroyed]).toEqual([true, false]);
    await waitFor(() => authority.connections(serial(first)) === 1, { what: 'the old pool to close its idle connections' });
    expect(authority.holding()).toBe(1);

    authority.release();
    expect(await held).toEqual({ status: 200, serial: serial(first) });
    await waitFor(() => authority.connections(serial(first)) === 0, { what: 'the old pool to close its last connection' });
    expect(authority.connections(serial(second))).toBeGreaterThanOrEqual(1);
    expect([await reloads('applied'), await reloads('refused')]).toEqual([1, 0]);
    expect(await expiry()).toBe(notAfter(second));
    expect(lines).toContainEqual(expect.objectContaining({
      level: 'info',
      component: 'authority-transport',
      msg: 'authority TLS files applied; new requests use them',
      keys: ['authority.cert', 'authority.key'],
      serial: serial(second),
    }));
  });

  it('refuses broken new files, logs and counts them, and keeps presenting the old certificate', async () => {
    const authority = await mtlsServer();
    const volume = await secretVolume(first);
    const { transport, lines, reloads } = await open(volume.files, false);
    const shared = sharedTransport(transport);
    const dispatcher = transport.dispatcher();
    expect(await transport.reload()).toBe('unchanged');

    await volume.rotate(second, '-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n');
    expect(await transport.reload()).toBe('refused');
    await volume.rotate(second, first.keyPem);
    expect(await transport.reload()).toBe('refused');

    expect(transport.dispatcher()).toBe(dispatcher);
    expect(await get(shared, `${authority.url}/whoami`)).toEqual({ status: 200, serial: serial(first) });
    expect([await reloads('applied'), await reloads('refused')]).toEqual([0, 2]);
    const refused = lines.filter((line) => line.msg === 'new authority TLS files refused; requests keep using the old ones');
    expect(refused.map((line) => [line.level, line.issues])).toEqual([
      ['error', [expect.stringMatching(/^authority\.key: cannot parse a private key \(/)]],
      ['error', ['authority.key: does not belong to the client certificate']],
    ]);
    expect(JSON.stringify(lines)).not.toContain(first.keyPem.split('\n')[1]);

    // the original files again: nothing to do
    await volume.rotate(first);
    expect(await transport.reload()).toBe('unchanged');
    expect(transport.dispatcher()).toBe(dispatcher);
  });

  it('close() waits for the requests in flight on the current and the old pool, then closes both', async () => {
    const authority = await mtlsServer();
    const volume = await secretVolume(first);
    const { transport } = await open(volume.files, false);
    const shared = sharedTransport(transport);
    const onFirst = get(shared, `${authority.url}/hold`);
    await waitFor(() => authority.holding() === 1, { what: 'the first held request' });
    const old = transport.dispatcher();
    await volume.rotate(second);
    expect(await transport.reload()).toBe('applied');
    const onSecond = get(shared, `${authority.url}/hold`);
    await waitFor(() => authority.holding() === 2, { what: 'the second held request' });

    let closed = false;
    const closing = Promise.all([transport.close(), transport.close()]).then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    authority.release();
    expect(await Promise.all([onFirst, onSecond])).toEqual([{ status: 200, serial: serial(first) }, { status: 200, serial: serial(second) }]);
    await closing;
    expect([old.closed, transport.dispatcher().closed]).toEqual([true, true]);
    expect(await transport.reload()).toBe('unchanged');
  });
});

describe('ownTransport', () => {
  it('reads the files on first use, and again after a failed read; closes its pool with it', async () => {
    const authority = await mtlsServer();
    const dir = await tempDir();
    const caFile = join(dir, 'ca.pem');
    const own = ownTransport({ ca: caFile, cert: first.cert, key: first.key });
    onTestFinished(() => own.close());
    await expect(own.request(`${authority.url}/whoami`, {})).rejects.toMatchObject({ code: 'config_unreadable' });
    await copyFile(ca.cert, caFile);
    expect(await get(own, `${authority.url}/whoami`)).toEqual({ status: 200, serial: serial(first) });
    await own.close();
    await waitFor(() => authority.connections(serial(first)) === 0, { what: 'the pool to close its connection' });
    await expect(own.request(`${authority.url}/whoami`, {})).rejects.toMatchObject({ code: 'unavailable' });
  });
});
