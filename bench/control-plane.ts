import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createLogger } from '../src/shared/logger.ts';
import { LicenseSync } from '../src/sidecar/license-sync.ts';
import { createSidecarMetrics } from '../src/sidecar/metrics.ts';
import { parseConfigText } from '../src/shared/config/load.ts';
import { sidecarSchema } from '../src/shared/config/sidecar-schema.ts';
import { startAuthority } from './authority.ts';
import { percentile } from './stats.ts';

/**
 * Control plane: `watchers` sidecar sync loops (the real LicenseSync, one process simulating
 * them) watch one service; the bench issues a license and measures until each loop admits on
 * it, then revokes it and measures until each loop has applied the revocation.
 */
export async function controlPlaneLatency(smoke: boolean, workDir: string): Promise<string[]> {
  const watchers = smoke ? 50 : 1000;
  const authority = await startAuthority(workDir);
  const { token } = await authority.call<{ token: string }>('POST', '/v1/tokens', { role: 'sidecar', service: 'watched' });
  const tokenFile = join(workDir, 'watcher.token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const logger = createLogger({ level: 'silent' });
  const config = parseConfigText(
    `service: watched\nauthority: { url: "${authority.url}", token_file: "${tokenFile}", refresh: 30s }\nports: [{ name: api, listen: "127.0.0.1:0", upstream: "127.0.0.1:1" }]\n`,
    'bench',
    sidecarSchema,
    {},
  );
  const syncs = Array.from({ length: watchers }, (_, i) => {
    const cacheDir = join(workDir, 'watchers', String(i));
    mkdirSync(cacheDir, { recursive: true });
    return new LicenseSync({
      service: 'watched',
      authority: { ...config.authority, cache_dir: cacheDir },
      ports: [{ name: 'api', listenPort: 0 }],
      logger,
      metrics: createSidecarMetrics(new Registry(), { processDefaults: false }),
    });
  });
  try {
    await Promise.all(syncs.map((sync) => sync.start()));
    await until(() => syncs.every((sync) => sync.authorityReachable), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // every loop is now held in a blocking query

    const issued = Date.now();
    const { lid } = await authority.call<{ lid: string }>('POST', '/v1/licenses', {
      service: 'watched',
      port_name: 'api',
      port: { number: 9 },
      allow: ['spiffe://bench.local/any'],
    });
    const admitted = await arrivals(syncs, (sync) => sync.get('api')?.claims.lid === lid && !sync.get('api')?.revoked, issued);

    const revoked = Date.now();
    await authority.call('POST', `/v1/licenses/${lid}/revoke`, {});
    const refused = await arrivals(syncs, (sync) => sync.get('api')?.revoked === true || sync.get('api') === undefined, revoked);
    return [
      `| control plane, ${watchers} watching sync loops | p50 ms | p99 ms | max ms |`,
      '| --- | ---: | ---: | ---: |',
      `| issue -> admitted by every loop | ${percentile(admitted, 50)} | ${percentile(admitted, 99)} | ${Math.max(...admitted)} |`,
      `| revoke -> applied by every loop | ${percentile(refused, 50)} | ${percentile(refused, 99)} | ${Math.max(...refused)} |`,
    ];
  } finally {
    await Promise.all(syncs.map((sync) => sync.close()));
    await authority.process.close();
  }
}

/** Milliseconds from `since` until `reached(sync)` held, per sync loop (checked every ms). */
async function arrivals(syncs: LicenseSync[], reached: (sync: LicenseSync) => boolean, since: number): Promise<number[]> {
  const at = new Array<number | undefined>(syncs.length).fill(undefined);
  const deadline = since + 30_000;
  while (at.some((value) => value === undefined)) {
    if (Date.now() > deadline) throw new Error('not every sync loop saw the change within 30s');
    syncs.forEach((sync, i) => {
      if (at[i] === undefined && reached(sync)) at[i] = Date.now() - since;
    });
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return at as number[];
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
