/**
 * The benchmark suite: starts the upstreams and every front on loopback, runs each load
 * against the fronts interleaved (A B C A B C ...), and prints medians as ratios to a direct
 * connection and to a bare Node.js pipe proxy. `npm run bench -- --smoke` is the seconds-long
 * run CI uses so the suite cannot rot; its numbers mean nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startScript } from './child.ts';
import { directFront, haproxyFront, installed, pipeFront, type Front, type UpstreamPorts } from './fronts.ts';
import { sidecarFronts } from './fronts/sidecar.ts';
import { httpKeepAlive } from './loads/http-keepalive.ts';
import { newConnections } from './loads/new-connections.ts';
import { bulkThroughput } from './loads/bulk.ts';
import { idleConnectionsRss } from './loads/idle-connections.ts';
import { median, ratio } from './stats.ts';
import { microBenchmarks } from './micro.ts';
import { controlPlaneLatency } from './control-plane.ts';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    reps: { type: 'string' },
    duration: { type: 'string' },
  },
});
const smoke = values.smoke;
const reps = Number(values.reps ?? (smoke ? 1 : 3));
const seconds = Number(values.duration ?? (smoke ? 1 : 5));

const workDir = mkdtempSync(join(tmpdir(), 'portwarden-bench-'));
const bulkBytes = smoke ? 16 * 1024 * 1024 : 512 * 1024 * 1024;
const upstream = await startScript<UpstreamPorts>(join(import.meta.dirname, 'upstreams.ts'), [], { BULK_BYTES: String(bulkBytes) });
const fronts: Front[] = [directFront(upstream.info), await pipeFront(upstream.info)];
const skipped: string[] = [];
fronts.push(...(await sidecarFronts(upstream.info, workDir)));
if (installed('haproxy')) fronts.push(await haproxyFront(upstream.info, workDir));
else skipped.push('haproxy (not installed: apt-get install haproxy)');

type Row = Record<string, number[]>;
async function interleaved(label: string, load: (front: Front) => Promise<number>): Promise<Row> {
  const row: Row = {};
  for (let rep = 0; rep < reps; rep++) {
    for (const front of fronts) {
      (row[front.name] ??= []).push(await load(front));
    }
  }
  process.stderr.write(`done: ${label}\n`);
  return row;
}

const results: [string, string, Row][] = [];
const latency: Record<string, { p50: number[]; p99: number[] }> = {};
results.push([
  'keep-alive HTTP',
  'req/s',
  await interleaved('http', async (front) => {
    const result = await httpKeepAlive(front.ports.http, seconds);
    const entry = (latency[front.name] ??= { p50: [], p99: [] });
    entry.p50.push(result.p50Ms);
    entry.p99.push(result.p99Ms);
    return result.reqPerSec;
  }),
]);
results.push(['new connections', 'conn/s', await interleaved('connect', (front) => newConnections(front.ports.echo, seconds))]);
results.push(['bulk, 2 streams', 'MB/s', await interleaved('bulk', (front) => bulkThroughput(front.ports.source))]);
const withProcess = fronts.filter((front) => front.process);
const rss: Row = {};
for (const front of withProcess) {
  const result = await idleConnectionsRss(front.ports.echo, front.process!.pid, smoke ? 100 : 1000);
  rss[`${front.name}`] = [result.withConnectionsMiB];
  rss[`${front.name} (idle)`] = [result.idleMiB];
}
process.stderr.write('done: rss\n');

for (const front of fronts) await front.process?.close();
await upstream.close();

const lines: string[] = [];
lines.push(`reps: ${reps}, duration: ${seconds}s per load and front, medians; ratios to direct / to the bare pipe`, '');
lines.push('| load | front | median | vs direct | vs node pipe |', '| --- | --- | ---: | ---: | ---: |');
for (const [label, unit, row] of results) {
  const direct = row['direct'] ? median(row['direct']) : undefined;
  const pipe = row['node pipe'] ? median(row['node pipe']) : undefined;
  for (const [name, samples] of Object.entries(row)) {
    const value = median(samples);
    lines.push(`| ${label} | ${name} | ${value.toFixed(0)} ${unit} | ${ratio(value, direct)} | ${ratio(value, pipe)} |`);
  }
}
lines.push('', '| keep-alive latency | p50 ms | p99 ms |', '| --- | ---: | ---: |');
for (const [name, entry] of Object.entries(latency)) lines.push(`| ${name} | ${median(entry.p50).toFixed(2)} | ${median(entry.p99).toFixed(2)} |`);
lines.push('', `| RSS with ${smoke ? 100 : 1000} idle connections | MiB |`, '| --- | ---: |');
for (const [name, samples] of Object.entries(rss)) lines.push(`| ${name} | ${median(samples).toFixed(1)} |`);
lines.push('', ...(await microBenchmarks(smoke)), '', ...(await controlPlaneLatency(smoke, workDir)));
if (skipped.length) lines.push('', `skipped: ${skipped.join('; ')}`);
process.stdout.write(`${lines.join('\n')}\n`);
rmSync(workDir, { recursive: true, force: true });
