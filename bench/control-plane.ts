import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Pool, request } from 'undici';
import { findPostgresBin, startPostgresCluster } from '../test/helpers/postgres-cluster.ts';
import { adminToken, startAuthority, type BenchAuthority } from './authority.ts';
import { cpuSeconds, rssMiB } from './child.ts';
import type { Arrivals, FromWorker, ToWorker, WorkerInput } from './control-plane-worker.ts';
import { percentile } from './stats.ts';

/**
 * Control plane, in two parts, against real authority processes: one on its embedded store,
 * then two sharing one PostgreSQL (when installed) with the watchers split between them and
 * every change made through the first.
 *  - fan-out: `watchers` raw blocking queries (HTTP only, no verification) are held; the bench
 *    issues a license, then revokes it, and times each answer: what the authorities themselves
 *    cost, with their RSS and CPU seconds over the fan-out.
 *  - sync loops: `watchers` real LicenseSync loops, spread over two worker processes (the
 *    sidecars they stand for each verify their token on their own machine; one thread
 *    verifying them all in a row would measure itself), until each admits on the license, then
 *    until each has applied the revocation; per loop, the answers it got for each change.
 * `BENCH_WATCHERS` overrides the count (10,000; 50 in the smoke run).
 */
export async function controlPlaneLatency(smoke: boolean, workDir: string): Promise<string[]> {
  const watchers = Number(process.env.BENCH_WATCHERS ?? (smoke ? 50 : 10_000));
  const results: SetupResult[] = [];
  const one = await startAuthority(join(workDir, 'control-one'), watchLimits(watchers));
  try {
    results.push(await measure('one authority', [one], watchers, workDir));
  } finally {
    await one.process.close();
  }
  const skipped: string[] = [];
  if (findPostgresBin() === undefined) skipped.push('two authorities on PostgreSQL: skipped (PostgreSQL is not installed)');
  else {
    const cluster = await startPostgresCluster();
    const started: BenchAuthority[] = [];
    try {
      // the first creates the schema; the second starts on it
      for (const name of ['a', 'b']) started.push(await startAuthority(join(workDir, `control-pg-${name}`), { ...watchLimits(watchers), PORTWARDEN_STORAGE_URL: cluster.url }));
      results.push(await measure('two authorities, one PostgreSQL', started, watchers, workDir));
    } catch (err) {
      // reported, not fatal: the table of the embedded store still prints
      skipped.push(`two authorities on PostgreSQL, ${watchers} watchers: failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await Promise.all(started.map((authority) => authority.process.close()));
      await cluster.destroy();
    }
  }
  return [...report(watchers, results), ...skipped.map((line) => `\n${line}`)];
}

/**
 * What 10,000 watchers of one service need raised: the blocking-query places, the connections
 * (a held query keeps one) and the one token's request rate (every loop asks again at once
 * after each change). A deployment with that many sidecars sets the same keys.
 */
function watchLimits(watchers: number): NodeJS.ProcessEnv {
  return {
    PORTWARDEN_LIMITS_MAX_WATCHES: String(watchers + 100),
    PORTWARDEN_LIMITS_MAX_WATCHES_PER_TOKEN: String(watchers + 100),
    PORTWARDEN_LIMITS_MAX_CONNECTIONS: String(2 * watchers + 100),
    PORTWARDEN_LIMITS_REQUESTS_PER_SECOND: String(Math.max(2 * watchers, 1_000)),
    PORTWARDEN_LIMITS_BURST: String(Math.max(2 * watchers, 1_000)),
  };
}

interface FanOut {
  times: number[];
  /** Answers that did not carry the change (a timeout's answer): starved queries. */
  starved: number;
  /** Per authority: RSS before and at the peak of the fan-out (MiB), CPU seconds it used. */
  resources: { rssBefore: number; rssPeak: number; cpu: number }[];
}
interface SetupResult {
  setup: string;
  issued: FanOut;
  revoked: FanOut;
  admitted: Arrivals;
  applied: Arrivals;
}

async function measure(setup: string, authorities: BenchAuthority[], watchers: number, workDir: string): Promise<SetupResult> {
  const { issued, revoked } = await authorityFanOut(authorities, watchers);
  process.stderr.write(`control plane, ${setup}: fan-out p99 issue ${percentile(issued.times, 99)} ms, revoke ${percentile(revoked.times, 99)} ms\n`);
  const { admitted, applied } = await syncLoops(authorities, watchers, join(workDir, `loops-${authorities.length}`));
  return { setup, issued, revoked, admitted, applied };
}

async function authorityFanOut(authorities: BenchAuthority[], watchers: number): Promise<{ issued: FanOut; revoked: FanOut }> {
  const [first] = authorities as [BenchAuthority, ...BenchAuthority[]];
  const share = Math.ceil(watchers / authorities.length);
  const pools = authorities.map((authority) => new Pool(authority.url, { connections: share, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 }));
  const query = async (pool: Pool, path: string) => {
    const answer = await pool.request({ method: 'GET', path, headers: { authorization: `Bearer ${adminToken}` } });
    const body = (await answer.body.json()) as { index: number };
    if (answer.statusCode !== 200) throw new Error(`GET ${path}: ${answer.statusCode} ${JSON.stringify(body)}`);
    return body.index;
  };
  try {
    const index = await query(pools[0]!, '/v1/licenses?service=fanout');
    const timed = async (change: () => Promise<unknown>, after: number): Promise<FanOut & { index: number }> => {
      let since = 0;
      const held = Array.from({ length: watchers }, (_, i) =>
        query(pools[i % pools.length]!, `/v1/licenses?service=fanout&index=${after}&wait=60s`).then((next) => ({ next, at: Date.now() - since })),
      );
      for (const answer of held) answer.catch(() => undefined); // one failure fails the Promise.all below, not the process
      await everyQueryHeld(authorities, watchers); // so connecting is not counted as fan-out
      const pids = authorities.map((authority) => authority.process.pid);
      const rssBefore = await Promise.all(pids.map(rssMiB));
      const rssPeak = [...rssBefore];
      const cpuBefore = await Promise.all(pids.map(cpuSeconds));
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          (await Promise.all(pids.map(rssMiB))).forEach((rss, i) => (rssPeak[i] = Math.max(rssPeak[i]!, rss)));
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      since = Date.now();
      await change();
      const answers = await Promise.all(held);
      const cpuAfter = await Promise.all(pids.map(cpuSeconds));
      sampling = false;
      await sampler;
      return {
        times: answers.map((answer) => answer.at),
        starved: answers.filter((answer) => answer.next <= after).length,
        resources: pids.map((_, i) => ({ rssBefore: rssBefore[i]!, rssPeak: rssPeak[i]!, cpu: cpuAfter[i]! - cpuBefore[i]! })),
        index: Math.max(...answers.map((answer) => answer.next)),
      };
    };
    let lid = '';
    const issued = await timed(async () => {
      ({ lid } = await first.call<{ lid: string }>('POST', '/v1/licenses', { service: 'fanout', port_name: 'api', port: { number: 9 }, allow: ['spiffe://bench.local/any'] }));
    }, index);
    const revoked = await timed(() => first.call('POST', `/v1/licenses/${lid}/revoke`, {}), issued.index);
    return { issued, revoked };
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
}

async function syncLoops(authorities: BenchAuthority[], watchers: number, workDir: string): Promise<{ admitted: Arrivals; applied: Arrivals }> {
  const [first] = authorities as [BenchAuthority, ...BenchAuthority[]];
  const { token } = await first.call<{ token: string }>('POST', '/v1/tokens', { role: 'sidecar', service: 'watched' });
  const tokenFile = join(workDir, 'watcher.token');
  mkdirSync(workDir, { recursive: true });
  writeFileSync(tokenFile, token, { mode: 0o600 });
  // two processes (each with its own file descriptors); with two authorities each one's loops watch one of them
  const half = Math.ceil(watchers / 2);
  const workers = [0, half].map((start, i) => {
    const input: WorkerInput = { url: authorities[i % authorities.length]!.url, tokenFile, workDir, first: start, count: start === 0 ? half : watchers - half };
    return fork(fileURLToPath(new URL('./control-plane-worker.ts', import.meta.url)), [JSON.stringify(input)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  });
  const next = (worker: ChildProcess) =>
    new Promise<FromWorker>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`a control-plane worker exited (${code}) before answering`));
      worker.once('exit', onExit);
      worker.once('message', (message: FromWorker) => {
        worker.off('exit', onExit);
        if ('error' in message) reject(new Error(message.error));
        else resolve(message);
      });
    });
  const all = async (message?: ToWorker): Promise<FromWorker[]> => {
    const answers = workers.map(next);
    if (message) for (const worker of workers) worker.send(message);
    return Promise.all(answers);
  };
  const joined = (answers: FromWorker[]): Arrivals => {
    const parts = answers.filter((answer): answer is Arrivals => 'arrivals' in answer);
    return { arrivals: parts.flatMap((part) => part.arrivals), answers: parts.flatMap((part) => part.answers), errors: parts.flatMap((part) => part.errors) };
  };
  const settleMs = watchers > 100 ? 2_000 : 300; // a second answer for the same change would come within this
  try {
    await all(); // ready
    await everyQueryHeld(authorities, watchers); // every loop is held in a blocking query

    // each loop is watched from before the change, so an arrival is never counted late
    const watched = (message: ToWorker) => all(message).then(joined);
    let since = Date.now();
    const admittedAt = watched({ expect: 'admitted', since, settleMs });
    const { lid } = await first.call<{ lid: string }>('POST', '/v1/licenses', { service: 'watched', port_name: 'api', port: { number: 9 }, allow: ['spiffe://bench.local/any'] });
    const admitted = await admittedAt;
    // as before the issue: every loop has asked again and is held, the steady state a revocation meets
    await everyQueryHeld(authorities, watchers);
    since = Date.now();
    const appliedAt = watched({ expect: 'revoked', since, settleMs });
    await first.call('POST', `/v1/licenses/${lid}/revoke`, {});
    const applied = await appliedAt;
    return { admitted, applied };
  } finally {
    await all({ close: true }).catch(() => undefined);
    await Promise.all(
      workers.map(async (worker) => {
        if (worker.exitCode !== null || worker.signalCode !== null) return;
        const exited = once(worker, 'exit');
        worker.kill();
        await exited;
      }),
    );
  }
}

/** Waits until the authorities together hold `count` blocking queries (their `portwarden_authority_watchers`). */
async function everyQueryHeld(authorities: BenchAuthority[], count: number): Promise<void> {
  const deadline = Date.now() + 150_000;
  for (;;) {
    const held = await Promise.all(
      authorities.map(async (authority) => {
        const answer = await request(`${authority.url}/metrics`);
        const text = await answer.body.text();
        return Number(/^portwarden_authority_watchers (\d+)$/m.exec(text)?.[1] ?? 0);
      }),
    );
    if (held.reduce((sum, n) => sum + n, 0) >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${held.join(' + ')} of ${count} blocking queries held after 150s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function report(watchers: number, results: SetupResult[]): string[] {
  const row = (setup: string, label: string, times: number[]) => `| ${setup} | ${label} | ${percentile(times, 50)} | ${percentile(times, 99)} | ${Math.max(...times)} |`;
  const latency = results.flatMap(({ setup, issued, revoked, admitted, applied }) => [
    row(setup, 'authority fan-out: issue -> every held query answered', issued.times),
    row(setup, 'authority fan-out: revoke -> every held query answered', revoked.times),
    row(setup, 'issue -> admitted by every loop', admitted.arrivals),
    row(setup, 'revoke -> applied by every loop', applied.arrivals),
  ]);
  const mib = (value: number) => value.toFixed(0);
  const resources = results.flatMap(({ setup, issued, revoked }) =>
    issued.resources.map((_, i) => {
      const name = issued.resources.length > 1 ? `${setup}: authority ${String.fromCharCode(97 + i)}` : setup;
      const [a, b] = [issued.resources[i]!, revoked.resources[i]!];
      return `| ${name} | ${mib(a.rssBefore)} | ${mib(Math.max(a.rssPeak, b.rssPeak))} | ${a.cpu.toFixed(2)} | ${b.cpu.toFixed(2)} |`;
    }),
  );
  const counted = (answers: number[]) => ({ once: answers.filter((n) => n === 1).length, twice: answers.filter((n) => n > 1).length, none: answers.filter((n) => n === 0).length });
  const delivery = results.flatMap(({ setup, issued, revoked, admitted, applied }) => [
    `| ${setup} | fan-out issue | ${watchers - issued.starved} | 0 | ${issued.starved} | - |`,
    `| ${setup} | fan-out revoke | ${watchers - revoked.starved} | 0 | ${revoked.starved} | - |`,
    ...([['loops issue', admitted], ['loops revoke', applied]] as const).map(([label, part]) => {
      const { once, twice, none } = counted(part.answers);
      return `| ${setup} | ${label} | ${once} | ${twice} | ${none} | ${part.errors.reduce((sum, n) => sum + n, 0)} |`;
    }),
  ]);
  return [
    `| control plane, ${watchers} watchers | | p50 ms | p99 ms | max ms |`,
    '| --- | --- | ---: | ---: | ---: |',
    ...latency,
    '',
    '| authority during the fan-out | RSS before MiB | RSS peak MiB | CPU s (issue) | CPU s (revoke) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...resources,
    '',
    '| answers per watcher and change | change | once | twice or more | none (starved) | failed rounds |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...delivery,
  ];
}
