import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError } from '../../../src/shared/config/load.ts';
import { AuthorityTransport, ownTransport } from '../../../src/sidecar/authority-transport.ts';
import { createPki, type CertFiles, type TestCa, type TestPki } from '../../helpers/pki.ts';
import { tempDir } from '../../helpers/tmp.ts';

let pki: TestPki;
let ca: TestCa;
let first: CertFiles;
let second: CertFiles;
beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('authority-ca');
  [first, second] = await Promise.all([ca.issue('sidecar-1'), ca.issue('sidecar-2')]);
});
afterAll(() => pki.close());

/** The ConfigError issues of a refused open, as `key: message`. */
async function refusal(open: Promise<unknown>): Promise<{ code: string; issues: string[] }> {
  const err = await open.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  const { code, issues } = err as ConfigError;
  return { code, issues: issues.map((issue) => `${issue.key}: ${issue.message}`) };
}

describe('AuthorityTransport', () => {
  it('opens on the system CAs when nothing is set, and closes once however often it is asked', async () => {
    const transport = await AuthorityTransport.open({});
    await Promise.all([transport.close(), transport.close()]);
    await transport.close();
    expect(transport.dispatcher.closed).toBe(true);
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

  it('tells which files no longer hold what its connections use', async () => {
    const dir = await tempDir();
    const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
    await Promise.all([copyFile(ca.cert, files.ca), copyFile(first.cert, files.cert), copyFile(first.key, files.key)]);
    const transport = await AuthorityTransport.open(files);
    onTestFinished(() => transport.close());
    expect(await transport.changedFiles()).toEqual([]);
    await Promise.all([copyFile(second.cert, files.cert), copyFile(second.key, files.key)]);
    expect(await transport.changedFiles()).toEqual(['authority.cert', 'authority.key']);
  });
});

describe('ownTransport', () => {
  it('reads the files on first use, and again after a failed read', async () => {
    const dir = await tempDir();
    const caFile = join(dir, 'ca.pem');
    const own = ownTransport({ ca: caFile });
    onTestFinished(() => own.close());
    await expect(own.dispatcher()).rejects.toMatchObject({ code: 'config_unreadable' });
    await copyFile(ca.cert, caFile);
    const dispatcher = await own.dispatcher();
    expect(await own.dispatcher()).toBe(dispatcher);
    await own.close();
    expect((dispatcher as Agent).closed).toBe(true);
    await expect(own.dispatcher()).rejects.toMatchObject({ code: 'unavailable' });
  });
});
