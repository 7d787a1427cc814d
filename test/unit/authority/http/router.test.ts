import { describe, expect, it } from 'vitest';
import { Router, type Route } from '../../../../src/authority/http/router.ts';

const route = (method: Route['method'], path: string): Route => ({ method, path, access: 'public', handler: async () => ({ body: path }) });

describe('Router', () => {
  const router = new Router().add(route('GET', '/v1/licenses'), route('POST', '/v1/licenses'), route('GET', '/v1/licenses/{lid}'), route('POST', '/v1/licenses/{lid}/renew'));

  it('matches exact segments and decodes parameters', () => {
    const match = router.match('POST', '/v1/licenses/lic%2Fx/renew');
    expect(match.route?.path).toBe('/v1/licenses/{lid}/renew');
    expect(match.route && 'params' in match ? match.params : undefined).toEqual({ lid: 'lic/x' });
  });

  it('tells a wrong method (with the allowed ones) from a missing path', () => {
    expect(router.match('DELETE', '/v1/licenses')).toEqual({ route: undefined, allowed: ['GET', 'POST'] });
    expect(router.match('GET', '/v1/licenses/a/b')).toEqual({ route: undefined, allowed: [] });
    expect(router.match('GET', '/v1/licenses/')).toEqual({ route: undefined, allowed: [] });
  });

  it('refuses a route registered twice', () => {
    expect(() => new Router().add(route('GET', '/a'), route('GET', '/a'))).toThrow('registered twice');
  });
});
