/**
 * One worker process of the control-plane bench: runs its share of the sync loops (the real
 * LicenseSync, as `SidecarRuntime` makes it, without the listeners: ten thousand watchers are
 * simulated on one machine) and reports, per loop, when a change reached it and how many
 * answers it got for that change. A process, not a thread: each loop holds a socket and writes
 * its last-known-good file, and 10,000 of them in one process ran out of file descriptors
 * (EMFILE at `ulimit -n` 20,000), which showed as failed sync rounds. Messages (IPC): the bench sends {expect, since, settleMs} just
 * before it makes the change (the one license of the watched port issued, or revoked) and gets
 * {arrivals: ms[], answers: n[], errors: n[]} once every loop has it and `settleMs` more have
 * passed (so a second answer for the same change would be counted); {close} ends the loops.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { parseConfigText } from '../src/shared/config/load.ts';
import { sidecarSchema } from '../src/shared/config/sidecar-schema.ts';
import { createLogger } from '../src/shared/logger.ts';
import { LicenseSync, syncPortsFromConfig } from '../src/sidecar/licenses/sync.ts';
import { createSidecarMetrics, type SidecarMetrics } from '../src/sidecar/admin/metrics.ts';

export interface WorkerInput {
  url: string;
  tokenFile: string;
  workDir: string;
  first: number;
  count: number;
}
export type ToWorker = { expect: 'admitted' | 'revoked'; since: number; settleMs: number } | { close: true };
/** Per loop: ms from the change until it applied it, answers that carried a change, failed rounds. */
export interface Arrivals {
  arrivals: number[];
  answers: number[];
  errors: number[];
}
export type FromWorker = { ready: true } | Arrivals | { closed: true } | { error: string };

const input = JSON.parse(process.argv[2] ?? '{}') as WorkerInput;
// BENCH_WORKER_LOG=FILE: the loops' warnings (why a sync round failed) to FILE.<first loop>
const logFile = process.env.BENCH_WORKER_LOG;
const logger = logFile ? createLogger({ level: 'warn', destination: pino.destination({ dest: `${logFile}.${input.first}`, sync: false }) }) : createLogger({ level: 'silent' });
const config = parseConfigText(
  `service: watched\nauthority: { url: "${input.url}", token_file: "${input.tokenFile}", refresh: 30s }\nports: [{ name: api, listen: "127.0.0.1:0", upstream: "127.0.0.1:1" }]\n`,
  'bench',
  sidecarSchema,
  {},
);
const loops = Array.from({ length: input.count }, (_, i) => {
  const cacheDir = join(input.workDir, 'watchers', String(input.first + i));
  mkdirSync(cacheDir, { recursive: true });
  const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
  const sync = new LicenseSync({
    service: 'watched',
    authority: { ...config.authority, cache_dir: cacheDir },
    ports: syncPortsFromConfig(config.ports),
    logger,
    metrics,
  });
  return { sync, metrics };
});

const send = (message: FromWorker) => process.send?.(message);
/** Sync rounds counted so far, per loop: the baseline a change's answers are counted from. */
let baseline: RoundCounts[] = [];

try {
  await Promise.all(loops.map(({ sync }) => sync.start()));
  // ten thousand loops starting at once take a while on two cores: starting is not what is measured
  await until(() => loops.every(({ sync }) => sync.authorityReachable), 150_000);
  baseline = await Promise.all(loops.map(({ metrics }) => rounds(metrics)));
  send({ ready: true });
} catch (err) {
  send({ error: String(err) });
}

process.on('message', (message: ToWorker) => {
  if ('close' in message) {
    void Promise.all(loops.map(({ sync }) => sync.close())).then(() => {
      send({ closed: true });
      process.disconnect(); // nothing left open: the process exits
    });
    return;
  }
  const reached =
    message.expect === 'admitted'
      ? (sync: LicenseSync) => sync.get('api') !== undefined && !sync.get('api')?.revoked
      : (sync: LicenseSync) => sync.get('api')?.revoked === true || sync.get('api') === undefined;
  change(reached, message.since, message.settleMs).then(send, (err: unknown) => send({ error: String(err) }));
});

/** Waits until every loop has the change, then `settleMs` more, and counts what each got. */
async function change(reached: (sync: LicenseSync) => boolean, since: number, settleMs: number): Promise<Arrivals> {
  const arrivals = await arrivalTimes(reached, since);
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const after = await Promise.all(loops.map(({ metrics }) => rounds(metrics)));
  const answers = after.map((counts, i) => counts.changed - (baseline[i]?.changed ?? 0));
  const errors = after.map((counts, i) => counts.error - (baseline[i]?.error ?? 0));
  baseline = after;
  return { arrivals, answers, errors };
}

/** Milliseconds from `since` until `reached(sync)` held, per loop: timed by the loop's own change event. */
function arrivalTimes(reached: (sync: LicenseSync) => boolean, since: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const at = new Array<number | undefined>(loops.length).fill(undefined);
    let left = loops.length;
    const stops: (() => void)[] = [];
    const finish = (error?: Error) => {
      clearTimeout(timer);
      for (const stop of stops) stop();
      if (error) reject(error);
      else resolve(at as number[]);
    };
    const check = (i: number, sync: LicenseSync) => {
      if (at[i] !== undefined || !reached(sync)) return;
      at[i] = Date.now() - since;
      if (--left === 0) finish();
    };
    const timer = setTimeout(() => finish(new Error(`${left} of ${loops.length} sync loops did not see the change within 60s`)), 60_000);
    loops.forEach(({ sync }, i) => {
      stops.push(sync.onChange(() => check(i, sync)));
      check(i, sync); // already there (a change faster than this message)
    });
  });
}

interface RoundCounts {
  changed: number;
  error: number;
}

/** The loop's `portwarden_authority_sync_total` by result. */
async function rounds(metrics: SidecarMetrics): Promise<RoundCounts> {
  const { values } = await metrics.authoritySyncTotal.get();
  const of = (result: string) => values.find((value) => value.labels.result === result)?.value ?? 0;
  return { changed: of('changed'), error: of('error') };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
