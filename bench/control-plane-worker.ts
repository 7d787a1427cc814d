/**
 * One worker thread of the control-plane bench: runs its share of the sync loops (the real
 * LicenseSync, as `SidecarRuntime` makes it, without the listeners: ten thousand watchers are
 * simulated on one machine) and reports, per loop, when a change reached it. Messages: the main thread
 * sends {expect, since} just before it makes the change (the one license of the watched port
 * issued, or revoked) and gets {arrivals: ms[]}; {close} ends the loops.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { parseConfigText } from '../src/shared/config/load.ts';
import { sidecarSchema } from '../src/shared/config/sidecar-schema.ts';
import { createLogger } from '../src/shared/logger.ts';
import { LicenseSync, syncPortsFromConfig } from '../src/sidecar/licenses/sync.ts';
import { createSidecarMetrics } from '../src/sidecar/admin/metrics.ts';

export interface WorkerInput {
  url: string;
  tokenFile: string;
  workDir: string;
  first: number;
  count: number;
}
export type ToWorker = { expect: 'admitted' | 'revoked'; since: number } | { close: true };
export type FromWorker = { ready: true } | { arrivals: number[] } | { closed: true } | { error: string };

const input = workerData as WorkerInput;
const port = parentPort!;
const logger = createLogger({ level: 'silent' });
const config = parseConfigText(
  `service: watched\nauthority: { url: "${input.url}", token_file: "${input.tokenFile}", refresh: 30s }\nports: [{ name: api, listen: "127.0.0.1:0", upstream: "127.0.0.1:1" }]\n`,
  'bench',
  sidecarSchema,
  {},
);
const syncs = Array.from({ length: input.count }, (_, i) => {
  const cacheDir = join(input.workDir, 'watchers', String(input.first + i));
  mkdirSync(cacheDir, { recursive: true });
  return new LicenseSync({
    service: 'watched',
    authority: { ...config.authority, cache_dir: cacheDir },
    ports: syncPortsFromConfig(config.ports),
    logger,
    metrics: createSidecarMetrics(new Registry(), { processDefaults: false }),
  });
});

const send = (message: FromWorker) => port.postMessage(message);

try {
  await Promise.all(syncs.map((sync) => sync.start()));
  await until(() => syncs.every((sync) => sync.authorityReachable), 30_000);
  send({ ready: true });
} catch (err) {
  send({ error: String(err) });
}

port.on('message', (message: ToWorker) => {
  if ('close' in message) {
    void Promise.all(syncs.map((sync) => sync.close())).then(() => send({ closed: true }));
    return;
  }
  const reached =
    message.expect === 'admitted'
      ? (sync: LicenseSync) => sync.get('api') !== undefined && !sync.get('api')?.revoked
      : (sync: LicenseSync) => sync.get('api')?.revoked === true || sync.get('api') === undefined;
  arrivals(reached, message.since).then(
    (times) => send({ arrivals: times }),
    (err: unknown) => send({ error: String(err) }),
  );
});

/** Milliseconds from `since` until `reached(sync)` held, per sync loop (checked every ms). */
async function arrivals(reached: (sync: LicenseSync) => boolean, since: number): Promise<number[]> {
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
