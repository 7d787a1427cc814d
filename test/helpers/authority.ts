import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { onTestFinished } from 'vitest';
import { Authority } from '../../src/authority/authority.ts';
import { ManualClock, type Clock } from '../../src/shared/clock.ts';
import { authoritySchema } from '../../src/shared/config/authority-schema.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { tempDir } from './tmp.ts';

export const testAdminToken = 'test-admin-token-0123456789abcdef';

export interface ApiCallOptions {
  body?: unknown;
  /** Defaults to the admin token; `null` sends none. */
  token?: string | null;
  /** A body sent as is (malformed JSON tests). */
  raw?: string;
  headers?: Record<string, string>;
}

export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // tests read ad-hoc JSON shapes
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface TestAuthority {
  authority: Authority;
  url: string;
  dataDir: string;
  clock: ManualClock;
  registry: Registry;
  /** Parsed NDJSON log lines. */
  logs: Record<string, unknown>[];
  /** Calls the API; `token` defaults to the admin token, `null` sends none. */
  api(method: string, path: string, options?: ApiCallOptions): Promise<ApiAnswer>;
}

export interface TestAuthorityOptions {
  dataDir?: string;
  clock?: ManualClock;
  /** Authority YAML keys (as the file would hold them), merged over test defaults. */
  config?: Record<string, unknown>;
  /** Sets `PORTWARDEN_ADMIN_TOKEN` (the default); `null` bootstraps `admin.token` instead. */
  adminToken?: string | null;
  renewIntervalMs?: number;
  /** How often the drill sweeper runs (real time; default 1s). */
  drillSweepIntervalMs?: number;
  /** PEM of the CA that signed `tls.cert`: `api` then trusts it (an https authority). */
  ca?: string;
}

/** Starts an authority on 127.0.0.1:0 over a temp data dir; closed when the test finishes. */
export async function startTestAuthority(options: TestAuthorityOptions = {}): Promise<TestAuthority> {
  const dataDir = options.dataDir ?? (await tempDir('portwarden-authority-'));
  const clock = options.clock ?? new ManualClock(Date.UTC(2026, 0, 1, 12));
  const config = authoritySchema.parse({ listen: '127.0.0.1:0', data_dir: dataDir, ...options.config });
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const registry = new Registry();
  const adminToken = options.adminToken === undefined ? testAdminToken : options.adminToken;
  const authority = await Authority.start({
    config,
    logger,
    registry,
    clock: clock as Clock,
    env: adminToken === null ? {} : { PORTWARDEN_ADMIN_TOKEN: adminToken },
    renewIntervalMs: options.renewIntervalMs ?? 60_000,
    ...(options.drillSweepIntervalMs === undefined ? {} : { drillSweepIntervalMs: options.drillSweepIntervalMs }),
  });
  onTestFinished(() => authority.close());
  const dispatcher = options.ca === undefined ? undefined : new Agent({ connect: { ca: options.ca } });
  if (dispatcher) onTestFinished(() => dispatcher.close());
  const url = authority.url;
  return {
    authority,
    url,
    dataDir,
    clock,
    registry,
    logs,
    async api(method, path, { body, token, raw, headers = {} } = {}) {
      const bearer = token === undefined ? (adminToken ?? undefined) : token;
      const res = await request(`${url}${path}`, {
        dispatcher,
        method: method as 'GET',
        headers: {
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
          ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
      });
      const text = await res.body.text();
      const type = String(res.headers['content-type'] ?? '');
      return { status: res.statusCode, headers: res.headers, body: type.includes('json') ? JSON.parse(text) : text };
    },
  };
}

/** A minimal valid issue body. */
export function issueBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    service: 'payments',
    port_name: 'api',
    port: { number: 8443, protocol: 'tcp' },
    allow: ['spiffe://corp/ns/billing/sa/api', 'spiffe://corp/ns/ops/*'],
    ttl: '1h',
    env: 'prod',
    ...overrides,
  };
}

/** jose `jwtVerify` options as a sidecar pins them (alg, typ, iss, aud), judged at `at` (ms). */
export function pinnedLicenseChecks(at: number) {
  return {
    algorithms: ['EdDSA'],
    typ: 'portwarden-license+jwt',
    issuer: 'portwarden-authority',
    audience: 'portwarden-sidecar',
    currentDate: new Date(at),
  };
}
