/**
 * The benchmark suite: starts the upstreams and every front on loopback, runs each load
 * against the fronts interleaved (A B C A B C ...), and prints medians as ratios to a direct
 * connection and to a bare Node.js pipe proxy. `npm run bench -- --smoke` is the seconds-long
 * run CI uses so the suite cannot rot; its numbers mean nothing.
 *
 * Options: --reps N, --duration S (per load, front and rep), --loads startup,http,latency,
 * connect,mtls,bulk,pgbench,rss,micro,control (a subset, in this order), --fronts NAME,... (by name; `direct`
 * and `node pipe` are kept as the bases), --cpu-prof DIR (profile the portwarden sidecar).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds, startScript } from './child.ts';
import { directFront, haproxyFront, installed, pipeFront, stunnelFront, type Front, type FrontContext, type FrontFactory, type Target, type UpstreamPorts } from './fronts.ts';
import { sidecarFront } from './fronts/sidecar.ts';
import { httpKeepAlive } from './loads/http-keepalive.ts';
import { httpLatency } from './loads/latency.ts';
import { newConnections } from './loads/new-connections.ts';
import { mtlsHandshakes } from './loads/mtls-handshakes.ts';
import { bulkThroughput, bulkUpload } from './loads/bulk.ts';
import { idleConnectionsRss } from './loads/idle-connections.ts';
import { pgbenchMissing, pgbenchTps, startPgbenchDatabase, type PgbenchDatabase } from './loads/pgbench.ts';
import { createBenchPki } from './pki.ts';
import { median, ratio } from './stats.ts';
import { microBenchmarks } from './micro.ts';
import { controlPlaneLatency } from './control-plane.ts';
import { startupTimes } from './startup.ts';

const allLoads = ['startup', 'http', 'latency', 'connect', 'mtls', 'bulk', 'pgbench', 'rss', 'micro', 'control'] as const;
const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    reps: { type: 'string' },
    duration: { type: 'string' },
    loads: { type: 'string' },
    fronts: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const smoke = values.smoke;
const reps = Number(values.reps ?? (smoke ? 1 : 3));
const seconds = Number(values.duration ?? (smoke ? 1 : 5));
const loads = new Set(values.loads ? values.loads.split(',') : allLoads);
const wanted = values.fronts?.split(',');
const idleCount = smoke ? 100 : 1000;

const workDir = mkdtempSync(join(tmpdir(), 'portwarden-bench-'));
const bulkBytes = smoke ? 16 * 1024 * 1024 : 512 * 1024 * 1024;
const upstream = await startScript<UpstreamPorts>(join(import.meta.dirname, 'upstreams.ts'), [], { BULK_BYTES: String(bulkBytes) });
const skipped: string[] = [];
let pki: FrontContext['pki'];
if (installed('openssl')) pki = await createBenchPki();
else skipped.push('mTLS fronts (openssl not installed)');
const ctx: FrontContext = { upstreams: upstream.info, workDir, pki };

const portwarden = sidecarFront({ cpuProfDir: values['cpu-prof'] });
const factories: [string, FrontFactory][] = [
  ['node pipe', pipeFront],
  ['portwarden', portwarden],
];
if (installed('haproxy')) factories.push(['haproxy 1 thread', haproxyFront]);
else skipped.push('haproxy (not installed: apt-get install haproxy)');
if (pki && installed('stunnel')) factories.push(['stunnel', stunnelFront]);
else if (pki) skipped.push('stunnel (not installed: apt-get install stunnel4)');
const chosen = factories.filter(([name]) => !wanted || name === 'node pipe' || wanted.includes(name));

type Row = Record<string, number[]>;
const results: [string, string, Row][] = [];
const latency: Record<string, { p50: number[]; p99: number[] }> = {};
const rss: Record<string, { idle: number[]; open: number[] }> = {};
/** autocannon's latency at the saturating keep-alive load (whole milliseconds), per front. */
const saturated: Record<string, { p50: number[]; p99: number[] }> = {};

// startup first, on a quiet machine: fresh processes of the CLI and the sidecar
const startupLines = loads.has('startup') ? await startupTimes(smoke, workDir) : [];
if (loads.has('startup')) process.stderr.write('done: startup\n');

// RSS next, each front a fresh process of its own (a new one each rep, interleaved): at idle
// right after start, then holding the idle connections
if (loads.has('rss')) {
  for (let rep = 0; rep < reps; rep++) {
    for (const [name, start] of chosen) {
      const front = await start(ctx);
      if (front.ports.echo !== undefined && front.process) {
        const result = await idleConnectionsRss(front.ports.echo, front.process.pid, idleCount);
        const entry = (rss[name] ??= { idle: [], open: [] });
        entry.idle.push(result.idleMiB);
        entry.open.push(result.withConnectionsMiB);
      }
      await front.process?.close();
    }
  }
  process.stderr.write('done: rss\n');
}

// the pgbench load's PostgreSQL, started before the fronts so each of them forwards to it too
let pg: PgbenchDatabase | undefined;
if (loads.has('pgbench')) {
  const missing = pgbenchMissing();
  if (missing) skipped.push(missing);
  else pg = await startPgbenchDatabase();
}
const loadCtx: FrontContext = pg ? { ...ctx, upstreams: { ...ctx.upstreams, postgres: pg.port } } : ctx;

const fronts: Front[] = [directFront(loadCtx.upstreams)];
const frontLoads = ['http', 'latency', 'connect', 'mtls', 'bulk', 'pgbench'];
if (frontLoads.some((load) => loads.has(load))) for (const [, start] of chosen) fronts.push(await start(loadCtx));

/** CPU time the front's process spent per unit of work (µs), by load and front: steadier than rates on a shared machine. */
const cpuPerOp: [string, string, Row][] = [];

/** Runs `load` against each front serving `target`, reps times, interleaved; `load` returns its rate (units per second). */
async function interleaved(label: string, target: Target, load: (port: number, front: Front) => Promise<number>, unit?: string): Promise<Row> {
  const row: Row = {};
  const cpu: Row = {};
  for (let rep = 0; rep < reps; rep++) {
    for (const front of fronts) {
      const port = front.ports[target];
      if (port === undefined) continue;
      const pid = front.process?.pid;
      const cpuBefore = pid ? await cpuSeconds(pid) : 0;
      const started = process.hrtime.bigint();
      const rate = await load(port, front);
      const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
      (row[front.name] ??= []).push(rate);
      if (pid && unit) (cpu[front.name] ??= []).push((((await cpuSeconds(pid)) - cpuBefore) * 1e6) / (rate * elapsed));
    }
  }
  if (unit) cpuPerOp.push([label, unit, cpu]);
  process.stderr.write(`done: ${label}\n`);
  return row;
}

if (loads.has('http')) {
  const row = await interleaved(
    'keep-alive HTTP',
    'http',
    async (port, front) => {
      const result = await httpKeepAlive(port, seconds);
      const entry = (saturated[front.name] ??= { p50: [], p99: [] });
      entry.p50.push(result.p50Ms);
      entry.p99.push(result.p99Ms);
      return result.reqPerSec;
    },
    'request',
  );
  results.push(['keep-alive HTTP', 'req/s', row]);
}
if (loads.has('latency')) {
  await interleaved('latency', 'http', async (port, front) => {
    const result = await httpLatency(port, seconds);
    const entry = (latency[front.name] ??= { p50: [], p99: [] });
    entry.p50.push(result.p50Ms);
    entry.p99.push(result.p99Ms);
    return result.samples;
  });
}
if (loads.has('connect')) results.push(['new connections', 'conn/s', await interleaved('new connections', 'echo', (port) => newConnections(port, seconds), 'connection')]);
if (loads.has('mtls') && pki) {
  const certs = pki;
  results.push(['mTLS handshakes', 'conn/s', await interleaved('mTLS handshakes', 'tls', (port) => mtlsHandshakes(port, certs, seconds), 'handshake')]);
}
if (loads.has('bulk')) {
  results.push(['bulk download, 2 streams', 'MB/s', await interleaved('bulk download', 'source', (port) => bulkThroughput(port), 'MB')]);
  results.push(['bulk upload, 2 streams', 'MB/s', await interleaved('bulk upload', 'sink', (port) => bulkUpload(port, bulkBytes), 'MB')]);
}
if (pg) {
  const db = pg;
  const durationSec = Math.max(1, Math.round(seconds)); // pgbench -T takes whole seconds
  for (const [label, connectPerTransaction] of [['pgbench -S', false], ['pgbench -S -C', true]] as const) {
    const row = await interleaved(label, 'postgres', (port) => pgbenchTps(db, port, { connectPerTransaction, durationSec }), 'transaction');
    results.push([label, 'tps', row]);
  }
}

for (const front of fronts) await front.process?.close();
await portwarden.close();
await pg?.close();
await upstream.close();

const lines: string[] = [];
lines.push(`reps: ${reps}, duration: ${seconds}s per load and front, medians; ratios to direct / to the bare pipe / to HAProxy`, '');
lines.push('| load | front | median | vs direct | vs node pipe | vs haproxy |', '| --- | --- | ---: | ---: | ---: | ---: |');
for (const [label, unit, row] of results) {
  const base = (name: string) => (row[name] ? median(row[name]) : undefined);
  for (const [name, samples] of Object.entries(row)) {
    const value = median(samples);
    lines.push(`| ${label} | ${name} | ${value.toFixed(0)} ${unit} | ${ratio(value, base('direct'))} | ${ratio(value, base('node pipe'))} | ${ratio(value, base('haproxy 1 thread'))} |`);
  }
}
if (cpuPerOp.length > 0) {
  lines.push('', '| front CPU time per unit of work | front | µs | vs node pipe | vs haproxy |', '| --- | --- | ---: | ---: | ---: |');
  for (const [label, unit, row] of cpuPerOp) {
    const base = (name: string) => (row[name] ? median(row[name]) : undefined);
    for (const [name, samples] of Object.entries(row)) {
      const value = median(samples);
      lines.push(`| ${label} (per ${unit}) | ${name} | ${value.toFixed(1)} | ${ratio(value, base('node pipe'))} | ${ratio(value, base('haproxy 1 thread'))} |`);
    }
  }
}
if (Object.keys(latency).length > 0) {
  const direct = latency['direct'];
  lines.push('', '| keep-alive latency (32 connections, 3,000 req/s) | p50 ms | p99 ms | p99 over direct ms |', '| --- | ---: | ---: | ---: |');
  for (const [name, entry] of Object.entries(latency)) {
    const over = direct ? (median(entry.p99) - median(direct.p99)).toFixed(3) : '-';
    lines.push(`| ${name} | ${median(entry.p50).toFixed(3)} | ${median(entry.p99).toFixed(3)} | ${over} |`);
  }
}
if (Object.keys(saturated).length > 0) {
  const direct = saturated['direct'];
  lines.push('', '| keep-alive latency at saturation (autocannon, 32 connections) | p50 ms | p99 ms | p99 over direct ms |', '| --- | ---: | ---: | ---: |');
  for (const [name, entry] of Object.entries(saturated)) {
    const over = direct ? String(median(entry.p99) - median(direct.p99)) : '-';
    lines.push(`| ${name} | ${median(entry.p50)} | ${median(entry.p99)} | ${over} |`);
  }
}
if (Object.keys(rss).length > 0) {
  const pipeOpen = rss['node pipe'] ? median(rss['node pipe'].open) : undefined;
  lines.push('', `| RSS of a fresh process (MiB, median of ${reps}) | at idle | with ${idleCount} idle connections | vs node pipe |`, '| --- | ---: | ---: | ---: |');
  for (const [name, entry] of Object.entries(rss)) lines.push(`| ${name} | ${median(entry.idle).toFixed(1)} | ${median(entry.open).toFixed(1)} | ${ratio(median(entry.open), pipeOpen)} |`);
}
if (startupLines.length > 0) lines.push('', ...startupLines);
if (loads.has('micro')) lines.push('', ...(await microBenchmarks(smoke)));
if (loads.has('control')) lines.push('', ...(await controlPlaneLatency(smoke, workDir)));
if (skipped.length) lines.push('', `skipped: ${skipped.join('; ')}`);
process.stdout.write(`${lines.join('\n')}\n`);
await pki?.close();
rmSync(workDir, { recursive: true, force: true });
