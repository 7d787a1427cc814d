/**
 * Repeatable per-transaction cost of a front under a real client, the pgbench load's
 * counterpart of `per-connection.ts`: starts a throwaway PostgreSQL cluster, runs the front
 * under callgrind (user-space instructions) or strace (system calls), warms it up with
 * pgbench, zeroes the counters, runs CLIENTS x N select-only transactions through it
 * (`pgbench -S -t N`, with `-C` a connection per transaction) and prints the counts per
 * transaction; `cpu` instead runs it unwrapped and splits its CPU time into user and system
 * (load-dependent, unlike the counts). Usage (Node 24):
 *   node_modules/.bin/node bench/tools/per-transaction.ts pipe|portwarden|haproxy callgrind|strace|cpu S|C [N]
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { accepts, freePort } from '../fronts.ts';
import { sidecarFront } from '../fronts/sidecar.ts';
import { startPgbenchDatabase } from '../loads/pgbench.ts';
import { countSystemCalls } from './strace-count.ts';

const [frontName = 'portwarden', tool = 'callgrind', mode = 'S', count] = process.argv.slice(2);
const clients = 8;
const perClient = Number(count ?? (mode === 'C' ? 100 : 1000));
const transactions = clients * perClient;
const workDir = mkdtempSync(join(tmpdir(), 'portwarden-per-txn-'));
const db = await startPgbenchDatabase();
const callgrindOut = join(workDir, 'callgrind.out');
const wrap = tool === 'callgrind' ? ['valgrind', '--tool=callgrind', `--callgrind-out-file=${callgrindOut}`] : [];

/** Starts `argv` and waits (valgrind starts slowly) until `port` accepts. */
async function startWrapped(argv: string[], port: number, env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'ignore', 'inherit'], env: { ...process.env, ...env } });
  const deadline = Date.now() + 600_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${frontName} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return child;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

let port: number;
let pid: number;
let close: () => Promise<void>;
if (frontName === 'pipe') {
  port = await freePort();
  const child = await startWrapped([...wrap, process.execPath, join(import.meta.dirname, '..', 'fronts', 'pipe-proxy.ts'), String(db.port)], port, { PIPE_PORT: String(port) });
  pid = child.pid as number;
  close = stopper(child);
} else if (frontName === 'haproxy') {
  port = await freePort();
  const config = join(workDir, 'haproxy.cfg');
  writeFileSync(
    config,
    `global\n  nbthread 1\n  maxconn 8000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\nlisten postgres\n  bind 127.0.0.1:${port}\n  server up 127.0.0.1:${db.port}\n`,
  );
  const child = await startWrapped([...wrap, 'haproxy', '-db', '-f', config], port);
  pid = child.pid as number;
  close = stopper(child);
} else {
  // PROF=DIR: the sidecar's --cpu-prof profile goes there (for tools/cpuprofile.ts)
  const factory = sidecarFront({ wrap, cpuProfDir: process.env.PROF });
  // the bench's other upstreams are not loaded here; the sidecar's ports for them point at a closed port
  const unused = await freePort();
  const front = await factory({ upstreams: { http: unused, echo: unused, source: unused, sink: unused, postgres: db.port }, workDir });
  port = front.ports.postgres as number;
  pid = (front.process as { pid: number }).pid;
  close = async () => {
    await front.process?.close();
    await factory.close();
  };
}

/** Dumps the front's callgrind counters and returns the newest dump's total (user-space instructions since the last zeroing). */
function dumpedInstructions(): number {
  execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
  const dumps = execFileSync('sh', ['-c', `ls ${callgrindOut}*`], { encoding: 'utf8' }).trim().split('\n');
  const dump = dumps.sort((a, b) => Number(/\.(\d+)$/.exec(a)?.[1] ?? 0) - Number(/\.(\d+)$/.exec(b)?.[1] ?? 0)).at(-1) as string;
  // KEEP=FILE keeps the (last) dump for callgrind_annotate
  if (process.env.KEEP) copyFileSync(dump, process.env.KEEP);
  return Number(/^(?:summary|totals): (\d+)/m.exec(readFileSync(dump, 'utf8'))?.[1] ?? 0);
}

/** utime and stime of a process (clock ticks), every thread. */
function cpuTimes(processId: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${processId}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]) };
}

async function pgbench(perClientTransactions: number): Promise<void> {
  const args = ['-S', '-n', '-c', String(clients), '-j', '2', '-t', String(perClientTransactions), ...(mode === 'C' ? ['-C'] : [])];
  await promisify(execFile)(db.pgbench, [...args, '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'postgres'], { maxBuffer: 1 << 20 });
}

await pgbench(Math.max(50, perClient / 4)); // warm-up: JIT, pools
await new Promise((resolve) => setTimeout(resolve, 1500)); // a sweep and a telemetry tick pass
const what = `${frontName}, pgbench -S${mode === 'C' ? ' -C' : ''}`;
if (tool === 'callgrind') {
  // Under valgrind a run takes minutes, and the front's timers (sweeps, health, telemetry) tick
  // at wall-clock rate all along: their instructions are measured idle first and taken out.
  const idleSeconds = 10;
  execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
  const idlePerSecond = dumpedInstructions() / idleSeconds;
  execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
  const started = performance.now();
  await pgbench(perClient);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // pending log batches, sweep
  const seconds = (performance.now() - started) / 1000;
  const total = dumpedInstructions();
  const perTransaction = (total - idlePerSecond * seconds) / transactions;
  process.stdout.write(
    `${what}: ${Math.round(perTransaction)} instructions per transaction (user space, ${transactions} transactions in ${seconds.toFixed(0)} s; ` +
      `${Math.round(total / transactions)} before taking out ${Math.round(idlePerSecond)} idle instructions per second)\n`,
  );
} else if (tool === 'cpu') {
  // user and system CPU apart (every thread, from /proc): the kernel's share is the same work in every front
  const idleStart = cpuTimes(pid);
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const idleEnd = cpuTimes(pid);
  const idleMsPerSec = ((idleEnd.user + idleEnd.system - idleStart.user - idleStart.system) * 10) / 5;
  const before = cpuTimes(pid);
  const started = performance.now();
  await pgbench(perClient);
  const seconds = (performance.now() - started) / 1000;
  const after = cpuTimes(pid);
  const us = (field: 'user' | 'system') => (((after[field] - before[field]) / 100) * 1e6) / transactions;
  process.stdout.write(
    `${what}: ${us('user').toFixed(1)} µs user + ${us('system').toFixed(1)} µs system CPU per transaction (${transactions} transactions in ${seconds.toFixed(1)} s); idle: ${idleMsPerSec.toFixed(1)} ms CPU per second\n`,
  );
} else {
  // TRACE=FILE: the full trace of the measured transactions instead of counts
  const calls = await countSystemCalls(pid, () => pgbench(perClient), transactions, workDir, 1500);
  process.stdout.write(`${what}: ${calls.total.toFixed(2)} system calls per transaction (${calls.each.join(', ')})\n`);
}
await close();
await db.close();
rmSync(workDir, { recursive: true, force: true });
