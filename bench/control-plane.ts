import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Pool } from 'undici';
import { adminToken, startAuthority, type BenchAuthority } from './authority.ts';
import type { FromWorker, ToWorker, WorkerInput } from './control-plane-worker.ts';
import { percentile } from './stats.ts';

/**
 * Control plane, in two parts, against a real authority process:
 *  - fan-out: `watchers` raw blocking queries (HTTP only, no verification) are held; the bench
 *    issues a license, then revokes it, and times each answer: what the authority itself costs.
 *  - sync loops: `watchers` real LicenseSync loops, spread over two worker threads (the
 *    sidecars they stand for each verify their token on their own machine; one thread
 *    verifying 1,000 EdDSA tokens in a row would measure itself), until each admits on the
 *    license, then until each has applied the revocation.
 */
export async function controlPlaneLatency(smoke: boolean, workDir: string): Promise<string[]> {
  const watchers = smoke ? 50 : 1000;
  const authority = await startAuthority(workDir);
  try {
    const fanout = await authorityFanOut(authority, watchers);
    const loops = await syncLoops(authority, watchers, workDir);
    const row = (label: string, times: number[]) => `| ${label} | ${percentile(times, 50)} | ${percentile(times, 99)} | ${Math.max(...times)} |`;
    return [
      `| control plane, ${watchers} watchers | p50 ms | p99 ms | max ms |`,
      '| --- | ---: | ---: | ---: |',
      row('authority fan-out: issue -> every held query answered', fanout.issued),
      row('authority fan-out: revoke -> every held query answered', fanout.revoked),
      row('issue -> admitted by every loop', loops.admitted),
      row('revoke -> applied by every loop', loops.revoked),
    ];
  } finally {
    await authority.process.close();
  }
}

async function authorityFanOut(authority: BenchAuthority, watchers: number): Promise<{ issued: number[]; revoked: number[] }> {
  const pool = new Pool(authority.url, { connections: watchers, pipelining: 1 });
  const query = async (path: string) => {
    const answer = await pool.request({ method: 'GET', path, headers: { authorization: `Bearer ${adminToken}` } });
    const body = (await answer.body.json()) as { index: number };
    return body.index;
  };
  try {
    const index = await query('/v1/licenses?service=fanout');
    const timed = async (change: () => Promise<unknown>, after: number) => {
      let since = 0;
      const held = Array.from({ length: watchers }, () => query(`/v1/licenses?service=fanout&index=${after}&wait=60s`).then((next) => ({ next, at: Date.now() - since })));
      await new Promise((resolve) => setTimeout(resolve, watchers)); // every query is held by now (1 ms each is plenty)
      since = Date.now();
      await change();
      const answers = await Promise.all(held);
      return { times: answers.map((answer) => answer.at), index: Math.max(...answers.map((answer) => answer.next)) };
    };
    let lid = '';
    const issued = await timed(async () => {
      ({ lid } = await authority.call<{ lid: string }>('POST', '/v1/licenses', { service: 'fanout', port_name: 'api', port: { number: 9 }, allow: ['spiffe://bench.local/any'] }));
    }, index);
    const revoked = await timed(() => authority.call('POST', `/v1/licenses/${lid}/revoke`, {}), issued.index);
    return { issued: issued.times, revoked: revoked.times };
  } finally {
    await pool.close();
  }
}

async function syncLoops(authority: BenchAuthority, watchers: number, workDir: string): Promise<{ admitted: number[]; revoked: number[] }> {
  const { token } = await authority.call<{ token: string }>('POST', '/v1/tokens', { role: 'sidecar', service: 'watched' });
  const tokenFile = join(workDir, 'watcher.token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const half = Math.ceil(watchers / 2);
  const workers = [0, half].map((first) => {
    const input: WorkerInput = { url: authority.url, tokenFile, workDir, first, count: first === 0 ? half : watchers - half };
    return new Worker(new URL('./control-plane-worker.ts', import.meta.url), { workerData: input });
  });
  const next = (worker: Worker) =>
    new Promise<FromWorker>((resolve, reject) => {
      worker.once('message', (message: FromWorker) => ('error' in message ? reject(new Error(message.error)) : resolve(message)));
      worker.once('error', reject);
    });
  const all = async (message?: ToWorker): Promise<FromWorker[]> => {
    const answers = workers.map(next);
    if (message) for (const worker of workers) worker.postMessage(message);
    return Promise.all(answers);
  };
  const times = (answers: FromWorker[]) => answers.flatMap((answer) => ('arrivals' in answer ? answer.arrivals : []));
  try {
    await all(); // ready
    await new Promise((resolve) => setTimeout(resolve, 500)); // every loop is now held in a blocking query

    // each loop is watched from before the change, so an arrival is never counted late
    const watched = (message: ToWorker) => all(message).then(times);
    let since = Date.now();
    const admittedAt = watched({ expect: 'admitted', since });
    const { lid } = await authority.call<{ lid: string }>('POST', '/v1/licenses', { service: 'watched', port_name: 'api', port: { number: 9 }, allow: ['spiffe://bench.local/any'] });
    const admitted = await admittedAt;
    since = Date.now();
    const revokedAt = watched({ expect: 'revoked', since });
    await authority.call('POST', `/v1/licenses/${lid}/revoke`, {});
    const revoked = await revokedAt;
    return { admitted, revoked };
  } finally {
    await all({ close: true }).catch(() => undefined);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
