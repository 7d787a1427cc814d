import { expect, it } from 'vitest';
import { issueBody, startTestAuthority } from '../helpers/authority.ts';

it('answers malformed, oversized, invalid and misrouted requests with JSON errors and codes', async () => {
  const t = await startTestAuthority();
  const expectError = (answer: { status: number; body: { error: { code: string; message: string } } }, status: number, code: string) => {
    expect([answer.status, answer.body.error.code]).toEqual([status, code]);
    return answer.body.error.message;
  };

  expectError(await t.api('POST', '/v1/licenses', { raw: '{"service": "payments",' }), 400, 'bad_request');
  expectError(await t.api('POST', '/v1/licenses', { raw: JSON.stringify({ ...issueBody(), pad: 'x'.repeat(2 * 1024 * 1024) }) }), 413, 'body_too_large');
  expectError(await t.api('POST', '/v1/licenses', { raw: 'service=payments', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');

  // validation names the key
  expect(expectError(await t.api('POST', '/v1/licenses', { body: issueBody({ port: undefined }) }), 400, 'bad_request')).toMatch(/^port:/);
  expect(expectError(await t.api('POST', '/v1/licenses', { body: issueBody({ allow: ['spiffe://corp/*/x'] }) }), 400, 'bad_request')).toMatch(/^allow\[0\]:/);
  expect(expectError(await t.api('POST', '/v1/licenses', { body: issueBody({ port: { number: 70_000 } }) }), 400, 'bad_request')).toMatch(/^port\.number:/);
  expect(expectError(await t.api('POST', '/v1/licenses', { body: issueBody({ ttl: '1 day' }) }), 400, 'bad_request')).toMatch(/^ttl:/);
  expect(expectError(await t.api('POST', '/v1/licenses', { body: issueBody({ colour: 'red' }) }), 400, 'bad_request')).toMatch(/^colour: unknown key/);
  expect(expectError(await t.api('GET', '/v1/licenses?service=payments&index=1&wait=soon'), 400, 'bad_request')).toMatch(/^wait:/);
  expect(expectError(await t.api('GET', '/v1/licenses?service=payments&index=-1'), 400, 'bad_request')).toMatch(/^index:/);

  expectError(await t.api('GET', '/v1/nothing'), 404, 'not_found');
  expectError(await t.api('GET', '/v1/licenses/lic_unknown'), 404, 'not_found');
  const wrongMethod = await t.api('DELETE', '/v1/licenses');
  expectError(wrongMethod, 405, 'method_not_allowed');
  expect(wrongMethod.headers.allow).toBe('GET, POST');

  // the server is still fine, and counted every answer by route pattern
  expect((await t.api('POST', '/v1/licenses', { body: issueBody() })).status).toBe(201);
  const metrics = (await t.api('GET', '/metrics', { token: null })).body as string;
  expect(metrics).toContain('portwarden_authority_http_requests_total{route="/v1/licenses",method="POST",status="413"} 1');
  expect(metrics).toContain('portwarden_authority_http_requests_total{route="unmatched",method="GET",status="404"} 1');
});

it('lists its metric names (public surface)', async () => {
  const t = await startTestAuthority();
  const metrics = (await t.api('GET', '/metrics', { token: null })).body as string;
  const names = [...metrics.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]).filter((n) => n?.startsWith('portwarden_'));
  expect(names.sort()).toEqual([
    'portwarden_admission_review_duration_seconds',
    'portwarden_admission_reviews_total',
    'portwarden_admission_view_refreshes_total',
    'portwarden_authority_audit_chain_intact',
    'portwarden_authority_change_index',
    'portwarden_authority_http_request_duration_seconds',
    'portwarden_authority_http_requests_total',
    'portwarden_authority_licenses',
    'portwarden_authority_licenses_at_risk',
    'portwarden_authority_refused_requests_total',
    'portwarden_authority_renewals_total',
    'portwarden_authority_store_up',
    'portwarden_authority_watchers',
  ]);
  expect(metrics).toContain('portwarden_authority_licenses{state="active"} 0');
});
