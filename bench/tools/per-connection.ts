/**
 * Repeatable per-connection cost of a front, for judging a change on a shared machine where
 * rates and CPU times are noisy: runs the front under callgrind (user-space instructions) or
 * strace (system calls), warms it up, zeroes the counters, opens WARM+N connections through
 * it (the new-connections load: one byte echoed, then close) and prints the counts per
 * connection. Usage (Node 24):
 *   node_modules/.bin/node bench/tools/per-connection.ts pipe|portwarden callgrind|strace [N]
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScript } from '../child.ts';
import { accepts, freePort, type UpstreamPorts } from '../fronts.ts';
import { sidecarFront } from '../fronts/sidecar.ts';
import { countSystemCalls } from './strace-count.ts';

const [frontName = 'portwarden', tool = 'callgrind', count = '2000'] = process.argv.slice(2);
const connections = Number(count);
const workDir = mkdtempSync(join(tmpdir(), 'portwarden-per-conn-'));
const upstream = await startScript<UpstreamPorts>(join(import.meta.dirname, '..', 'upstreams.ts'), []);
const callgrindOut = join(workDir, 'callgrind.out');
const wrap = tool === 'callgrind' ? ['valgrind', '--tool=callgrind', `--callgrind-out-file=${callgrindOut}`] : [];

let port: number;
let pid: number;
let close: () => Promise<void>;
if (frontName === 'pipe') {
  const script = join(import.meta.dirname, '..', 'fronts', 'pipe-proxy.ts');
  port = await freePort();
  const argv = [...wrap, process.execPath, script, String(upstream.info.echo)];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'ignore', 'inherit'], env: { ...process.env, PIPE_PORT: String(port) } });
  const deadline = Date.now() + 600_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline) throw new Error('pipe did not start');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  pid = child.pid as number;
  close = () =>
    new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
} else {
  const factory = sidecarFront({ wrap });
  const front = await factory({ upstreams: upstream.info, workDir });
  port = front.ports.echo as number;
  pid = (front.process as { pid: number }).pid;
  close = async () => {
    await front.process?.close();
    await factory.close();
  };
}

async function run(n: number, concurrency = 8): Promise<void> {
  let left = n;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true });
      socket.once('connect', () => socket.write('x'));
      socket.once('data', () => socket.end());
      socket.once('error', reject);
      socket.once('close', () => resolve());
    });
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left-- > 0) await one();
  }));
}

await run(Math.max(200, connections / 4)); // warm-up: JIT, pools
await new Promise((resolve) => setTimeout(resolve, 1500)); // a sweep and a telemetry tick pass
if (tool === 'callgrind') {
  execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
  await run(connections);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // pending log batches, sweep
  execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
  const dumps = execFileSync('sh', ['-c', `ls ${callgrindOut}*`], { encoding: 'utf8' }).trim().split('\n');
  const dump = dumps.sort().at(-1) as string;
  const text = readFileSync(dump, 'utf8');
  // KEEP=FILE keeps the dump for callgrind_annotate
  if (process.env.KEEP) copyFileSync(dump, process.env.KEEP);
  const total = Number(/^(?:summary|totals): (\d+)/m.exec(text)?.[1] ?? 0);
  process.stdout.write(`${frontName}: ${Math.round(total / connections)} instructions per connection (user space, ${connections} connections)\n`);
} else {
  // TRACE=FILE: the full trace of the measured connections instead of counts
  const calls = await countSystemCalls(pid, () => run(connections), connections, workDir, 1500);
  process.stdout.write(`${frontName}: ${calls.total.toFixed(1)} system calls per connection (${calls.each.join(', ')})\n`);
}
await close();
await upstream.close();
rmSync(workDir, { recursive: true, force: true });
