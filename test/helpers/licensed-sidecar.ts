import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { onTestFinished } from 'vitest';
import { deepFreeze } from '../../src/shared/config/frozen.ts';
import type { SidecarConfig } from '../../src/shared/config/sidecar-schema.ts';
import { createLogger } from '../../src/shared/logger.ts';
import type { AccessRecord } from '../../src/sidecar/proxy/access-record.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { SidecarRuntime } from '../../src/sidecar/runtime.ts';
import type { TestAuthority } from './authority.ts';
import { connectTo, echoes, type LogLine } from './sidecar-harness.ts';
import { tempDir } from './tmp.ts';
import { waitFor } from './wait.ts';

export interface LicensedSidecarOptions {
  /** Where the sidecar token and `cache_dir` live; reuse one to restart over the same last-known-good. */
  dir?: string;
}

/**
 * A real sidecar (`SidecarRuntime`: license sync, telemetry, listeners, admin) for `payments`
 * against `t`, on the authority's clock; closed when the test finishes (or by `close`). With an
 * existing `dir` holding a token, the authority is not asked for one (it may be down).
 */
export async function startLicensedSidecar(t: TestAuthority, config: SidecarConfig, options: LicensedSidecarOptions = {}) {
  const dir = options.dir ?? (await tempDir('portwarden-transition-'));
  const tokenFile = join(dir, 'sidecar.token');
  const hasToken = await access(tokenFile).then(
    () => true,
    () => false,
  );
  if (!hasToken) {
    const token = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token as string;
    await writeFile(tokenFile, token, { mode: 0o600 });
  }
  const logs: LogLine[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } });
  const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
  const records: AccessRecord[] = [];
  const runtime = await SidecarRuntime.start({
    config: runtimeConfig(config, { url: t.url, dir, tokenFile }),
    logger,
    metrics,
    clock: t.clock,
    onAccess: (record) => records.push(record),
    sweepIntervalMs: 20,
    backoff: { floorMs: 50, ceilingMs: 200 },
  });
  const close = async () => void (await runtime.close({ deadlineMs: 0 }));
  onTestFinished(close);
  const { sidecar, sync } = runtime;
  return {
    dir,
    sidecar,
    sync,
    records,
    logs,
    metrics,
    close,
    /** Applies `next` (made like the starting configuration: same test authority, dir and spool). */
    reload: (next: SidecarConfig) => sidecar.reload(runtimeConfig(next, { url: t.url, dir, tokenFile })),
    /** How a new connection to `number` ends: admitted (echoes), or refused with the access record's reason. */
    async attempt(number: number): Promise<string> {
      const seen = records.length;
      let decided = false;
      const socket = await connectTo({ host: '127.0.0.1', port: number });
      const refused = waitFor(() => decided || records.slice(seen).find((record) => record.decision === 'deny'), { what: 'a refusal', timeoutMs: 2_000 }).then(
        (record) => `refused: ${record === true ? '' : String(record.reason)}`,
        () => 'neither admitted nor refused',
      );
      const admitted = echoes(socket, 'hello').then((ok) => (ok ? 'admitted' : 'garbled'));
      const outcome = await Promise.race([admitted, refused]);
      decided = true;
      socket.destroy();
      return outcome;
    },
    async admin(path: string) {
      const response = await fetch(`http://${sidecar.adminAddress ?? ''}${path}`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async metric(name: string, labels: Record<string, string>) {
      sidecar.beforeScrape();
      const found = await metrics.registry.getSingleMetric(name)?.get();
      return found?.values.find((value) => Object.entries(labels).every(([key, want]) => String(value.labels[key]) === want))?.value;
    },
  };
}

/**
 * `config` pointed at a test authority, with its token, cache and telemetry spool in `dir`,
 * long-polls that outlast any test (changes still arrive at once) and no inventory reports.
 */
export function runtimeConfig(config: SidecarConfig, { url, dir, tokenFile, issuer = 'portwarden-authority' }: { url: string; dir: string; tokenFile: string; issuer?: string }): SidecarConfig {
  return deepFreeze({
    ...config,
    authority: { ...config.authority, url, issuer, token_file: tokenFile, refresh: 300_000, cache_dir: join(dir, 'cache'), clock_tolerance: 0 },
    telemetry: { ...config.telemetry, spool_dir: join(dir, 'spool') },
    inventory: { ...config.inventory, enabled: false },
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`number` (ECONNREFUSED: false). */
export async function listening(number: number): Promise<boolean> {
  try {
    const socket = await connectTo({ host: '127.0.0.1', port: number });
    socket.destroy();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') return false;
    throw err;
  }
}
