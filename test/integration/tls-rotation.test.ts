import { X509Certificate } from 'node:crypto';
import { copyFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPki, type CertFiles, type TestCa, type TestPki } from '../helpers/pki.ts';
import { echo, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { testLicense } from '../helpers/static-license-source.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';

let pki: TestPki;
let ca: TestCa;
let nextCa: TestCa;
let serverA: CertFiles;
let serverB: CertFiles;
let client: CertFiles;
let nextClient: CertFiles;
beforeAll(async () => {
  pki = await createPki();
  [ca, nextCa] = await Promise.all([pki.createCa('rotation-ca'), pki.createCa('rotation-next-ca')]);
  [serverA, serverB, client, nextClient] = await Promise.all([
    ca.issue('server-a', { uris: ['spiffe://corp/ns/pay/sa/api'] }),
    ca.issue('server-b', { uris: ['spiffe://corp/ns/pay/sa/api'] }),
    ca.issue('client', { uris: ['spiffe://corp/ns/billing/sa/api'] }),
    nextCa.issue('client', { uris: ['spiffe://corp/ns/billing/sa/api'] }),
  ]);
});
afterAll(() => pki.close());

const serial = (leaf: CertFiles) => new X509Certificate(leaf.certPem).serialNumber;

/** An mTLS sidecar whose files live in a directory the test rewrites. */
async function rotatingSidecar() {
  const dir = await tempDir();
  const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  await copyFile(ca.cert, files.ca);
  await install(files, serverA);
  const upstream = await startUpstream(echo);
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address, identity: { mode: 'mtls', ...files } }]), { licensed: false });
  h.source.set('api', testLicense({ port: 'api', allow: ['spiffe://corp/ns/billing/*'] }));
  return { h, files };
}

/** Replaces cert and key as rotation tools do: write aside, rename over. */
async function install(files: { cert: string; key: string }, leaf: CertFiles): Promise<void> {
  await Promise.all([writeFile(`${files.cert}.new`, leaf.certPem), writeFile(`${files.key}.new`, leaf.keyPem)]);
  await rename(`${files.cert}.new`, files.cert);
  await rename(`${files.key}.new`, files.key);
}

/** One connection: handshake, ping, echo, close. Resolves to the server certificate's serial, or throws. */
function ping(port: number, as: CertFiles = client, trust = ca.certPem): Promise<string> {
  return new Promise((resolve, reject) => {
    const options: ConnectionOptions = { host: '127.0.0.1', port, ca: trust, cert: as.certPem, key: as.keyPem, checkServerIdentity: () => undefined };
    const socket = connect(options);
    let text = '';
    socket.on('secureConnect', () => socket.write('ping'));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text === 'ping') {
        const got = socket.getPeerX509Certificate()?.serialNumber ?? '';
        socket.end();
        resolve(got);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after "${text}"`)));
  });
}

it('rotates the certificate under load without a failed connection; open connections keep going', async () => {
  const { h, files } = await rotatingSidecar();
  const { port } = h.address('api');

  // a connection opened before any rotation
  const early = connect({ host: '127.0.0.1', port, ca: ca.certPem, cert: client.certPem, key: client.keyPem, checkServerIdentity: () => undefined });
  await new Promise((resolve) => early.once('secureConnect', resolve));

  let running = true;
  const seen = new Set<string>();
  const failures: unknown[] = [];
  let done = 0;
  const loop = async () => {
    while (running) {
      try {
        seen.add(await ping(port));
        done++;
      } catch (err) {
        failures.push(err);
      }
    }
  };
  const loops = [loop(), loop(), loop()];

  const reloads = async (result: string) => (await h.metric('portwarden_tls_reloads_total', { port: 'api', result })) ?? 0;
  for (const [leaf, broken] of [[serverB, false], [serverA, true], [serverA, false], [serverB, false]] as const) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const result = broken ? 'refused' : 'applied';
    const before = await reloads(result);
    if (broken) await writeFile(files.cert, leaf.certPem); // a cert without its key: refused, the old stays
    else await install(files, leaf);
    await waitFor(async () => (await reloads(result)) > before, { what: `the watcher to count ${result}` });
  }
  await waitFor(async () => (await ping(port)) === serial(serverB), { what: 'the rotated certificate in use' });
  await new Promise((resolve) => setTimeout(resolve, 200));
  running = false;
  await Promise.all(loops);

  expect(failures).toEqual([]);
  expect(done).toBeGreaterThan(20);
  expect(seen).toEqual(new Set([serial(serverA), serial(serverB)]));
  expect(await h.metric('portwarden_tls_reloads_total', { port: 'api', result: 'applied' })).toBeGreaterThanOrEqual(3);
  expect(await h.metric('portwarden_tls_reloads_total', { port: 'api', result: 'refused' })).toBeGreaterThanOrEqual(1);

  // the connection from before the rotations still carries bytes
  const reply = new Promise<string>((resolve) => early.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  early.write('still here');
  expect(await reply).toBe('still here');
  early.destroy();
});

it('takes a CA added to the bundle on reload (SIGHUP), admitting its clients without a restart', async () => {
  const { h, files } = await rotatingSidecar();
  const { port } = h.address('api');
  await expect(ping(port, nextClient)).rejects.toThrow();

  await writeFile(files.ca, ca.certPem + nextCa.certPem);
  await h.sidecar.reload(h.sidecar.config); // what SIGHUP does: unchanged ports re-read their TLS files
  expect(await ping(port, nextClient)).toBe(serial(serverA));
  expect(await ping(port, client)).toBe(serial(serverA));
});
