/**
 * Does a second process (or thread) pay on this machine? New connections and keep-alive HTTP
 * through the bare pipe as one process and as N processes sharing each port with
 * SO_REUSEPORT, and through HAProxy with `nbthread 1` and `nbthread N`; fronts interleaved,
 * medians of the reps; CPU per unit summed over the front's processes. Usage (Node 24):
 *   node_modules/.bin/node bench/tools/reuseport.ts [N=2] [reps=3] [seconds=5]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, startProgram, startScript, type BenchProcess } from '../child.ts';
import { accepts, freePort, type UpstreamPorts } from '../fronts.ts';
import { httpKeepAlive } from '../loads/http-keepalive.ts';
import { newConnections } from '../loads/new-connections.ts';

const [n = 2, reps = 3, seconds = 5] = process.argv.slice(2).map(Number);
const workDir = mkdtempSync(join(tmpdir(), 'portwarden-reuseport-'));
const upstream = await startScript<UpstreamPorts>(join(import.meta.dirname, '..', 'upstreams.ts'), []);

interface Started {
  echo: number;
  http: number;
  processes: BenchProcess[];
}

function pipeProcess(port: number, upstreamPort: number): Promise<BenchProcess> {
  const script = join(import.meta.dirname, '..', 'fronts', 'pipe-proxy.ts');
  const child = spawn(process.execPath, [script, String(upstreamPort)], { stdio: ['pipe', 'ignore', 'inherit'], env: { ...process.env, PIPE_PORT: String(port), PIPE_REUSE_PORT: '1' } });
  const stop = () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM')));
  return new Promise((resolve) => setTimeout(() => resolve({ pid: child.pid as number, close: stop }), 300));
}

async function pipes(count: number): Promise<Started> {
  const [echo, http] = [await freePort(), await freePort()];
  const processes: BenchProcess[] = [];
  for (let i = 0; i < count; i++) processes.push(await pipeProcess(echo, upstream.info.echo), await pipeProcess(http, upstream.info.http));
  while (!(await accepts(echo)) || !(await accepts(http))) await new Promise((resolve) => setTimeout(resolve, 100));
  return { echo, http, processes };
}

async function haproxy(threads: number): Promise<Started> {
  const [echo, http] = [await freePort(), await freePort()];
  const config = join(workDir, `haproxy-${threads}.cfg`);
  const listen = (name: string, port: number, to: number) => `listen ${name}\n  bind 127.0.0.1:${port}\n  server up 127.0.0.1:${to}\n`;
  writeFileSync(
    config,
    `global\n  nbthread ${threads}\n  maxconn 8000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n${listen('echo', echo, upstream.info.echo)}${listen('http', http, upstream.info.http)}`,
  );
  return { echo, http, processes: [await startProgram('haproxy', ['-db', '-f', config], () => accepts(echo))] };
}

const fronts: [string, () => Promise<Started>][] = [
  ['node pipe, 1 process', () => pipes(1)],
  [`node pipe, ${n} processes (reusePort)`, () => pipes(n)],
  ['haproxy nbthread 1', () => haproxy(1)],
  [`haproxy nbthread ${n}`, () => haproxy(n)],
];
const cpu = async (processes: BenchProcess[]) => (await Promise.all(processes.map((p) => cpuSeconds(p.pid)))).reduce((a, b) => a + b, 0);
const results = new Map<string, { conn: number[]; connCpu: number[]; http: number[]; httpCpu: number[] }>();
for (let rep = 0; rep < reps; rep++) {
  for (const [name, start] of fronts) {
    const front = await start();
    const t0 = await cpu(front.processes);
    const conn = await newConnections(front.echo, seconds);
    const t1 = await cpu(front.processes);
    const http = (await httpKeepAlive(front.http, seconds)).reqPerSec;
    const t2 = await cpu(front.processes);
    await Promise.all(front.processes.map((p) => p.close()));
    const row = results.get(name) ?? { conn: [], connCpu: [], http: [], httpCpu: [] };
    row.conn.push(conn);
    row.connCpu.push(((t1 - t0) / (conn * seconds)) * 1e6);
    row.http.push(http);
    row.httpCpu.push(((t2 - t1) / (http * seconds)) * 1e6);
    results.set(name, row);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
process.stdout.write('| front | new conn/s | CPU µs per connection | keep-alive req/s | CPU µs per request |\n| --- | ---: | ---: | ---: | ---: |\n');
for (const [name, row] of results) {
  process.stdout.write(`| ${name} | ${median(row.conn).toFixed(0)} | ${median(row.connCpu).toFixed(1)} | ${median(row.http).toFixed(0)} | ${median(row.httpCpu).toFixed(1)} |\n`);
}
await upstream.close();
rmSync(workDir, { recursive: true, force: true });
