import { X509Certificate } from 'node:crypto';
import { copyFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { isPortwardenError } from '../../../../../src/shared/errors.ts';
import { ConfigError } from '../../../../../src/shared/config/config-error.ts';
import { createLogger } from '../../../../../src/shared/logger.ts';
import { createSidecarMetrics } from '../../../../../src/sidecar/admin/metrics.ts';
import { TlsMaterial, type TlsFiles } from '../../../../../src/sidecar/identity/tls/material.ts';
import { createPki, type CertFiles, type TestCa, type TestPki } from '../../../../helpers/pki.ts';
import { tempDir } from '../../../../helpers/tmp.ts';
import { waitFor } from '../../../../helpers/wait.ts';

let pki: TestPki;
let ca: TestCa;
let first: CertFiles;
let second: CertFiles;
beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('material-ca');
  first = await ca.issue('first', { uris: ['spiffe://corp/ns/a/sa/first'] });
  second = await ca.issue('second', { uris: ['spiffe://corp/ns/a/sa/second'], days: 60 });
});
afterAll(() => pki.close());

/** A directory holding ca.pem, tls.crt and tls.key, as a deployment would. */
async function deploy(leaf: CertFiles): Promise<TlsFiles> {
  const dir = await tempDir();
  const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  await copyFile(ca.cert, files.ca);
  await install(files, leaf);
  return files;
}

/** Replaces cert and key the way rotation tools do: write aside, rename over. */
async function install(files: TlsFiles, leaf: CertFiles): Promise<void> {
  await writeFile(`${files.cert}.tmp`, leaf.certPem);
  await writeFile(`${files.key}.tmp`, leaf.keyPem);
  await rename(`${files.cert}.tmp`, files.cert);
  await rename(`${files.key}.tmp`, files.key);
}

async function load(files: TlsFiles, watch = false) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
  const material = await TlsMaterial.load({ files, keyPath: 'ports[0].identity', port: 'api', logger, metrics, watch, debounceMs: 20 });
  onTestFinished(() => material.close());
  const series = async (name: string, labels: Record<string, string>) =>
    (await metrics.registry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, w]) => v.labels[k] === w))?.value;
  return { material, lines, series };
}

describe('TlsMaterial', () => {
  it('loads the files, reads its own SPIFFE ID and publishes the certificate expiry', async () => {
    const { material, series } = await load(await deploy(first));
    expect(material.current.identity).toBe('spiffe://corp/ns/a/sa/first');
    expect(material.current.options.minVersion).toBe('TLSv1.2');
    const notAfter = Math.floor(material.current.certificate.validToDate.getTime() / 1000);
    expect(await series('portwarden_tls_cert_expiry_timestamp_seconds', { port: 'api' })).toBe(notAfter);
  });

  it('refuses to start on a missing file or a key of another certificate, naming the key', async () => {
    const files = await deploy(first);
    const missing = load({ ...files, ca: `${files.ca}.absent` });
    await expect(missing).rejects.toSatisfy((err) => isPortwardenError(err, 'config_unreadable'));
    await expect(missing).rejects.toThrow(/ports\[0\]\.identity\.ca: cannot read file \(ENOENT\)/);
    await writeFile(files.key, second.keyPem);
    const mismatched = load(files);
    await expect(mismatched).rejects.toBeInstanceOf(ConfigError);
    await expect(mismatched).rejects.toThrow(/ports\[0\]\.identity\.key: does not match the certificate/);
    await writeFile(files.cert, 'not a certificate');
    await expect(load(files)).rejects.toThrow(/ports\[0\]\.identity\.cert: holds no PEM certificate/);
  });

  it('applies new files on reload, and keeps the old material when the new is broken', async () => {
    const files = await deploy(first);
    const { material, lines, series } = await load(files);
    const seen: string[] = [];
    material.onChange((snapshot) => seen.push(snapshot.identity ?? ''));
    expect(await material.reload()).toBe('unchanged');

    await install(files, second);
    expect(await material.reload()).toBe('applied');
    expect(material.current.identity).toBe('spiffe://corp/ns/a/sa/second');
    expect(seen).toEqual(['spiffe://corp/ns/a/sa/second']);
    const secondNotAfter = new X509Certificate(second.certPem).validToDate.getTime();
    expect(await series('portwarden_tls_cert_expiry_timestamp_seconds', { port: 'api' })).toBe(Math.floor(secondNotAfter / 1000));

    await writeFile(files.cert, first.certPem); // the key still belongs to `second`
    expect(await material.reload()).toBe('refused');
    expect(material.current.identity).toBe('spiffe://corp/ns/a/sa/second');
    expect(seen).toHaveLength(1);
    expect(await series('portwarden_tls_reloads_total', { port: 'api', result: 'applied' })).toBe(1);
    expect(await series('portwarden_tls_reloads_total', { port: 'api', result: 'refused' })).toBe(1);
    const refusal = lines.find((line) => line.msg === 'new TLS material refused; the old material stays in use');
    expect(refusal?.issues).toEqual(['ports[0].identity.key: does not match the certificate in ports[0].identity.cert']);
    // no key material in the log
    expect(JSON.stringify(lines)).not.toContain('PRIVATE KEY');
  });

  it('re-reads by itself when the files are replaced', async () => {
    const files = await deploy(first);
    const { material } = await load(files, true);
    await install(files, second);
    await waitFor(() => material.current.identity === 'spiffe://corp/ns/a/sa/second', { what: 'the watcher to apply the new files' });
    await material.close();
    await material.close();
  });
});
