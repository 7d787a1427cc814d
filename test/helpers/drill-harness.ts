import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { expect, onTestFinished } from 'vitest';
import { createLogger } from '../../src/shared/logger.ts';
import { decide, type Decision } from '../../src/sidecar/proxy/decide.ts';
import { LicenseSync, type LicenseSyncOptions } from '../../src/sidecar/licenses/sync.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { startTestAuthority, type TestAuthority, type TestAuthorityOptions } from './authority.ts';
import { tempDir } from './tmp.ts';

export const caller = 'spiffe://corp/ns/billing/sa/api';

/** A real authority (manual clock) whose drill sweeper runs every 20ms of real time. */
export function startDrillAuthority(options: TestAuthorityOptions = {}): Promise<TestAuthority> {
  return startTestAuthority({ drillSweepIntervalMs: 20, ...options });
}

export interface DrillSidecar {
  sync: LicenseSync;
  /** The sidecar token of `payments`. */
  token: string;
  /** The decision for `caller` on port `api` now, as the proxy would make it. */
  decide(options?: { expiryGraceMs?: number; identity?: string }): Decision;
}

/**
 * A real sidecar-side `LicenseSync` for `payments` (port `api` on 8443) against `authority`,
 * sharing its manual clock, with a fast back-off so an outage's end is noticed quickly.
 */
export async function startDrillSidecar(authority: TestAuthority, overrides: Partial<LicenseSyncOptions> = {}): Promise<DrillSidecar> {
  const dir = await tempDir('portwarden-drill-sync-');
  const created = await authority.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } });
  expect(created.status).toBe(201);
  const token = created.body.token as string;
  const tokenFile = join(dir, 'sidecar.token');
  await writeFile(tokenFile, token, { mode: 0o600 });
  const sync = new LicenseSync({
    service: 'payments',
    authority: { url: authority.url, issuer: 'portwarden-authority', token_file: tokenFile, refresh: 300_000, cache_dir: join(dir, 'cache'), clock_tolerance: 0 },
    ports: [{ name: 'api', listenPort: 8443 }],
    clock: authority.clock,
    logger: createLogger({ level: process.env.DRILL_DEBUG ? 'debug' : 'silent' }),
    metrics: createSidecarMetrics(new Registry(), { processDefaults: false }),
    backoff: { floorMs: 20, ceilingMs: 100 },
    ...overrides,
  });
  onTestFinished(() => sync.close());
  await sync.start();
  return {
    sync,
    token,
    decide: ({ expiryGraceMs = 0, identity = caller } = {}) =>
      decide(sync.get('api'), identity, { now: authority.clock.now(), clockToleranceMs: 0, expiryGraceMs, authorityReachable: sync.authorityReachable }),
  };
}

/** Reports access records for `payments` as its sidecar would (`POST /v1/telemetry`). */
export async function reportAccess(
  authority: TestAuthority,
  token: string,
  records: { identity: string; origin: string; count: number; at: number; decision: 'allow' | 'deny'; reason?: string }[],
): Promise<void> {
  const answer = await authority.api('POST', '/v1/telemetry', {
    token,
    body: {
      batch_id: randomUUID(),
      records: records.map((r) => ({
        port: 'api',
        identity: r.identity,
        origin: r.origin,
        count: r.count,
        first_access: new Date(r.at).toISOString(),
        last_access: new Date(r.at).toISOString(),
        decision: r.decision,
        reason: r.reason ?? null,
      })),
    },
  });
  expect(answer.status).toBe(200);
}

/** The audit actions on `target` (exact, or a prefix ending in `*`), oldest first. */
export async function auditActions(authority: TestAuthority, target: string): Promise<string[]> {
  const answer = await authority.api('GET', `/v1/audit?target=${encodeURIComponent(target)}`);
  expect(answer.status).toBe(200);
  return (answer.body.entries as { action: string }[]).map((entry) => entry.action);
}
