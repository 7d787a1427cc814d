import { request } from 'undici';

/** One API call with a bearer token; throws on an error answer, naming it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function call(url: string, token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<any> {
  const res = await request(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 400) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
  return JSON.parse(text);
}

/** The authority configuration the console scenarios run on: manual approval and three ranges. */
export const consoleAuthorityConfig = `register:
  approval: manual
  ranges:
    - { name: default, from: 20000, to: 29999 }
    - { name: databases, from: 15000, to: 15099, services: ["postgres-*"] }
    - { name: edge, from: 8400, to: 8599, services: ["edge-*"], envs: [prod] }
`;

interface PortSeed {
  service: string;
  name: string;
  env: string;
  owner: string;
  number?: number;
  depends_on?: string[];
  allow?: string[];
  reason?: string;
  /** Left as it is after the request: `requested`, or decided: approved (default), rejected, released, transitioning. */
  then?: 'approve' | 'keep' | 'reject' | 'release' | 'transition';
}

const web = 'spiffe://corp/ns/web/sa/frontend';
const checkoutId = 'spiffe://corp/ns/checkout/sa/api';
const ordersId = 'spiffe://corp/ns/orders/sa/worker';

/** A register a platform team would recognise: several teams, ranges and states. */
const seeds: PortSeed[] = [
  { service: 'billing', name: 'api', env: 'prod', owner: 'team-billing', number: 20001, depends_on: ['postgres-billing/sql'], allow: [web, checkoutId] },
  { service: 'billing', name: 'metrics', env: 'prod', owner: 'team-billing', number: 20002 },
  { service: 'checkout', name: 'api', env: 'prod', owner: 'team-checkout', number: 20010, depends_on: ['billing/api', 'orders/grpc'], allow: [web] },
  { service: 'orders', name: 'grpc', env: 'prod', owner: 'team-orders', number: 20011, depends_on: ['postgres-orders/sql'], allow: [checkoutId] },
  { service: 'search', name: 'http', env: 'prod', owner: 'team-search', number: 20020, allow: [web], then: 'transition' },
  { service: 'legacy', name: 'reports', env: 'prod', owner: 'team-data', number: 20030, then: 'release' },
  { service: 'postgres-billing', name: 'sql', env: 'prod', owner: 'team-dba', allow: ['spiffe://corp/ns/billing/*'] },
  { service: 'postgres-orders', name: 'sql', env: 'prod', owner: 'team-dba', allow: [ordersId] },
  { service: 'edge-gateway', name: 'https', env: 'prod', owner: 'team-edge', number: 8443, allow: ['spiffe://corp/ns/ingress/*'] },
  { service: 'inventory', name: 'api', env: 'prod', owner: 'team-inventory', depends_on: ['orders/grpc'], allow: [checkoutId], reason: 'new inventory service for the spring launch', then: 'keep' },
  { service: 'notifications', name: 'ws', env: 'prod', owner: 'team-growth', reason: 'websocket push to the mobile app', then: 'keep' },
  { service: 'fraud', name: 'score', env: 'prod', owner: 'team-risk', number: 20040, then: 'reject' },
  { service: 'billing', name: 'api', env: 'staging', owner: 'team-billing', number: 20001, depends_on: ['postgres-billing/sql'] },
  { service: 'checkout', name: 'api', env: 'staging', owner: 'team-checkout', number: 20010, depends_on: ['billing/api'] },
];

/** What the seed made, by `service/name@env`: each port's id and number. */
export type Seeded = Record<string, { id: string; number: number | null }>;

/**
 * Fills an authority with `consoleAuthorityConfig` through its API, as teams would: requests,
 * approvals, a rejection, a release (its number cools down), a transition, licenses with
 * callers reported by the billing sidecar, and one revoked license.
 */
export async function seedRegister(url: string, adminToken: string): Promise<Seeded> {
  const seeded: Seeded = {};
  for (const seed of seeds) {
    const port = await call(url, adminToken, 'POST', '/v1/ports', {
      service: seed.service,
      name: seed.name,
      env: seed.env,
      owner: seed.owner,
      ...(seed.number === undefined ? {} : { number: seed.number }),
      depends_on: seed.depends_on ?? [],
      ...(seed.reason === undefined ? {} : { reason: seed.reason }),
      ...(seed.allow ? { license: { allow: seed.allow, renew: 'always' } } : {}),
    });
    seeded[`${seed.service}/${seed.name}@${seed.env}`] = { id: port.id, number: port.number };
    const then = seed.then ?? 'approve';
    if (then === 'keep') continue;
    if (then === 'reject') {
      await call(url, adminToken, 'POST', `/v1/ports/${port.id}/reject`, { reason: 'scoring runs inside checkout' });
      continue;
    }
    await call(url, adminToken, 'POST', `/v1/ports/${port.id}/approve`, { reason: 'capacity reviewed' });
    if (then === 'release') await call(url, adminToken, 'POST', `/v1/ports/${port.id}/release`, { reason: 'reports moved to the warehouse' });
    if (then === 'transition') await call(url, adminToken, 'POST', `/v1/ports/${port.id}/transition`, { to: 20050, window: '2h' });
  }
  // the billing sidecar reported who called billing/api, and one refused caller
  const now = Date.now();
  const at = (agoMs: number) => new Date(now - agoMs).toISOString();
  await call(url, adminToken, 'POST', '/v1/telemetry', {
    batch_id: 'seed-1',
    service: 'billing',
    records: [
      { port: 'api', identity: web, origin: '10.1.4.21', count: 1842, bytes_in: 3_400_000, bytes_out: 91_000_000, first_access: at(86_400_000), last_access: at(40_000) },
      { port: 'api', identity: checkoutId, origin: '10.1.7.3', count: 311, bytes_in: 800_000, bytes_out: 2_100_000, first_access: at(7_200_000), last_access: at(5_000) },
      { port: 'api', identity: 'spiffe://corp/ns/batch/sa/export', origin: '10.1.9.14', count: 3, bytes_in: 0, bytes_out: 0, first_access: at(600_000), last_access: at(420_000), decision: 'deny', reason: 'identity_not_allowed' },
    ],
  });
  // orders/grpc had an older license, revoked when its allow list changed
  const old = await call(url, adminToken, 'POST', '/v1/licenses', { service: 'orders', port_name: 'grpc', port: { number: 20011 }, allow: ['spiffe://corp/ns/legacy/*'], env: 'prod', renew: 'never' });
  await call(url, adminToken, 'POST', `/v1/licenses/${old.lid}/revoke`, { reason: 'allow list narrowed to the checkout API' });
  return seeded;
}

/**
 * A license about to lapse: `renew: never`, so once half its short TTL has passed it is inside
 * its renew window with no renewal coming (at risk) until it expires.
 */
export async function issueAtRiskLicense(url: string, adminToken: string, ttl = '20s'): Promise<string> {
  const license = await call(url, adminToken, 'POST', '/v1/licenses', { service: 'billing', port_name: 'metrics', port: { number: 20002 }, allow: ['spiffe://corp/ns/ops/sa/prometheus'], env: 'prod', renew: 'never', ttl });
  return license.lid as string;
}
