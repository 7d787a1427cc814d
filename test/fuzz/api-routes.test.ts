import { Agent, request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { routeFactories } from '../../src/authority/routes.ts';
import { errorCodes } from '../../src/shared/errors.ts';
import { issueBody, startTestAuthority, testAdminToken } from '../helpers/authority.ts';
import { fc, fuzzAsync } from '../helpers/fuzz.ts';

/** Keys the API's bodies and queries use, so cases reach past "unknown key" into the handlers. */
const keys = [
  'service', 'port_name', 'port', 'allow', 'ttl', 'env', 'renew', 'reason', 'role', 'name', 'number', 'protocol', 'kind', 'owner', 'depends_on', 'license',
  'to', 'window', 'dry_run', 'for', 'batch_id', 'records', 'sent_at', 'listeners', 'sidecar_ports', 'ports', 'index', 'wait', 'state', 'stale', 'unregistered',
  'since', 'actor', 'target', 'action', 'limit', 'anchor', 'identity', 'origin', 'count', 'last_access', 'decision', 'address',
];
/** Values worth trying anywhere: the right kind of thing for some key, and the wrong kind for others. */
const value = fc.oneof(
  fc.constantFrom('payments', 'billing', 'api', 'prod', 'default', 'tcp', 'udp', 'admin', 'sidecar', 'revoke', 'expire', 'outage', 'auto', 'never', 'all', 'active', '1h', '5s', '0s', '-1s', '1', '0', 'true', 'false', 'spiffe://corp/ns/*', 'spiffe://corp/*/x', '2026-01-01T00:00:00Z', 'license/*', '1:' + 'a'.repeat(64), ''),
  fc.integer({ min: -2, max: 70_000 }),
  fc.string({ maxLength: 16 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const body = fc.oneof(
  fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 6 }),
  fc.constant(issueBody()),
  fc.record({ service: fc.constant('payments'), name: fc.constantFrom('api', 'grpc'), env: fc.constantFrom('prod', 'default'), number: fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }) }, { requiredKeys: ['service', 'name'] }),
  fc.record({ batch_id: fc.string({ minLength: 1, maxLength: 8 }), records: fc.array(fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 5 }), { maxLength: 3 }) }),
  fc.jsonValue({ maxDepth: 3 }),
);
/** The raw request body: JSON of the above, or bytes that are not JSON at all. */
const rawBody = fc.oneof({ weight: 4, arbitrary: body.map((b) => JSON.stringify(b)) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.constant('') });
/** A blocking query may only be held briefly here: long waits would turn cases into sleeps. */
const shortWait = fc.constantFrom('0s', '1ms', '5ms', 'soon', '-1s', '');
const query = fc.tuple(fc.dictionary(fc.constantFrom(...keys, 'x'), value.map(String), { maxKeys: 4 }), shortWait).map(([params, wait]) => {
  const search = new URLSearchParams(params);
  if (search.has('index') || search.has('wait')) search.set('wait', wait);
  return search.toString();
});
const segment = fc.oneof(fc.constantFrom('payments', 'payments%2Fapi', 'lic_0000', '1', '999999', 'x', '%2F', '%E0%A4%A', '..'), fc.string({ minLength: 1, maxLength: 10 }).map(encodeURIComponent));

describe('every API route, fuzzed on a real authority', () => {
  it('answers any body and query with a known code and a 4xx (or a 2xx), never a 500, and stays up', async () => {
    const t = await startTestAuthority({ config: { limits: { requests_per_second: 1_000_000, burst: 1_000_000 } } });
    const sidecar = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token as string;
    await t.api('POST', '/v1/licenses', { body: issueBody() });
    await t.api('POST', '/v1/ports', { body: { service: 'payments', name: 'api', env: 'prod' } });
    const routes = routeFactories.flatMap((factory) => factory(t.authority.context));
    expect(routes.length).toBeGreaterThan(30);
    const agent = new Agent({ connections: 4 });
    onTestFinished(() => agent.close());
    // mostly tokens that get past authentication, so the cases reach the handlers
    const tokens = fc.oneof(
      { weight: 5, arbitrary: fc.constant(`Bearer ${testAdminToken}`) },
      { weight: 3, arbitrary: fc.constant(`Bearer ${sidecar}`) },
      { weight: 2, arbitrary: fc.constantFrom<string | undefined>(undefined, 'Bearer pw.nope.nope', 'Basic eA==', `Bearer ${sidecar}x`) },
    );
    const asJson = fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });

    for (const route of routes) {
      const path = fc.tuple(...route.path.split('/').slice(1).map((part) => (part.startsWith('{') ? segment : fc.constant(part)))).map((parts) => `/${parts.join('/')}`);
      await fuzzAsync(60, 10_000, path, query, rawBody, tokens, asJson, async (url, search, raw, authorization, json) => {
        const answer = await request(`${t.url}${url}${search ? `?${search}` : ''}`, {
          dispatcher: agent,
          method: route.method,
          headers: { ...(authorization ? { authorization } : {}), ...(route.method === 'POST' ? { 'content-type': json ? 'application/json' : 'text/plain' } : {}) },
          body: route.method === 'POST' ? raw : undefined,
        });
        const text = await answer.body.text();
        const where = `${route.method} ${url}?${search} -> ${answer.statusCode} ${text.slice(0, 200)}`;
        // an outage drill started by an earlier case refuses its service's license sync, by design
        const drillOutage = answer.statusCode === 503 && text.includes('outage drill');
        expect(answer.statusCode < 500 || drillOutage, where).toBe(true);
        // errors are always JSON; a success may be another type (/metrics, the console's files and redirects)
        if (!String(answer.headers['content-type'] ?? '').startsWith('application/json')) {
          expect(answer.statusCode, where).toBeLessThan(400);
          return;
        }
        const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
        if (answer.statusCode >= 400) {
          const code = parsed.error?.code ?? '';
          expect(code in errorCodes, where).toBe(true);
          expect(errorCodes[code as keyof typeof errorCodes].status, where).toBe(answer.statusCode);
          expect(parsed.error?.message, where).toMatch(/\S/);
        }
      });
    }
    expect((await t.api('GET', '/healthz', { token: null })).status).toBe(200);
    expect(t.logs.filter((line) => line.msg === 'request failed')).toEqual([]);
  });
});
