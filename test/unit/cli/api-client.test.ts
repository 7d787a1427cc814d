import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiError, authorityTls, authorityUrl, defaultAuthorityUrl } from '../../../src/cli/api-client.ts';
import { createPki, type CertFiles, type TestCa, type TestPki } from '../../helpers/pki.ts';

describe('authorityUrl', () => {
  it('takes --authority, then PORTWARDEN_AUTHORITY, then the default', () => {
    expect(authorityUrl('http://a:1/', { PORTWARDEN_AUTHORITY: 'http://b:2' })).toBe('http://a:1');
    expect(authorityUrl(undefined, { PORTWARDEN_AUTHORITY: 'https://b:2' })).toBe('https://b:2');
    expect(authorityUrl(undefined, {})).toBe(defaultAuthorityUrl);
    expect(() => authorityUrl('b:2', {})).toThrow(expect.objectContaining({ code: 'usage' }));
  });
});

describe('apiError', () => {
  it("keeps the API's code", () => {
    expect(apiError(409, { error: { code: 'license_max_lifetime', message: 'm' } })).toMatchObject({ code: 'license_max_lifetime', message: 'm' });
    expect(apiError(403, { error: { code: 'forbidden', message: 'no' } })).toMatchObject({ code: 'forbidden' });
  });

  it('falls back on the status for answers without a known code', () => {
    expect(apiError(401, undefined).code).toBe('unauthenticated');
    expect(apiError(404, { error: { code: 'nope' } }).code).toBe('not_found');
    expect(apiError(502, 'gateway').code).toBe('authority_unreachable');
    expect(apiError(418, {}).code).toBe('authority_bad_response');
  });
});

describe('authorityTls', () => {
  let pki: TestPki;
  let ca: TestCa;
  let operator: CertFiles;
  beforeAll(async () => {
    pki = await createPki();
    ca = await pki.createCa('authority-ca');
    operator = await ca.issue('operator');
  });
  afterAll(() => pki.close());

  it('takes each file from its flag, then its PORTWARDEN_AUTHORITY_* variable, and reads it', async () => {
    expect(await authorityTls({}, {})).toEqual({});
    expect(await authorityTls({}, { PORTWARDEN_AUTHORITY_CA: '' })).toEqual({});
    const env = { PORTWARDEN_AUTHORITY_CA: '/nowhere/ca.pem', PORTWARDEN_AUTHORITY_CERT: operator.cert, PORTWARDEN_AUTHORITY_KEY: operator.key };
    expect(await authorityTls({ 'authority-ca': ca.cert }, env)).toEqual({ ca: ca.certPem, cert: operator.certPem, key: operator.keyPem });
  });

  it('refuses, as a usage error naming the flag or the variable, a file it cannot use or a certificate without its key', async () => {
    const missing = join(pki.dir, 'absent.pem');
    await expect(authorityTls({ 'authority-ca': missing }, {})).rejects.toMatchObject({ code: 'usage', message: `--authority-ca ${missing}: cannot read file (ENOENT)` });
    await expect(authorityTls({}, { PORTWARDEN_AUTHORITY_CA: missing })).rejects.toMatchObject({ message: `$PORTWARDEN_AUTHORITY_CA ${missing}: cannot read file (ENOENT)` });
    await expect(authorityTls({ 'authority-cert': operator.cert }, {})).rejects.toMatchObject({ code: 'usage', message: '--authority-key: required with the client certificate' });
    await expect(authorityTls({ 'authority-cert': operator.cert, 'authority-key': ca.key }, {})).rejects.toMatchObject({
      message: `--authority-key ${ca.key}: does not belong to the client certificate`,
    });
  });
});
