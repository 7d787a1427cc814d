import { describe, expect, it } from 'vitest';
import { apiError, authorityUrl, defaultAuthorityUrl } from '../../../src/cli/api-client.ts';

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
