/**
 * Per-megabyte cost of a front in a bulk transfer, for judging a change on the data path on a
 * shared machine: the front's CPU time (user + system, every thread, from /proc), its minor
 * page faults (each a fresh page touched: allocation churn) and, with `strace`, its system
 * calls, all divided by the megabytes moved. Two streams, as the bulk loads. Usage (Node 24):
 *   node_modules/.bin/node bench/tools/per-megabyte.ts pipe|portwarden upload|download [MiB per stream] [strace]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScript } from '../child.ts';
import { accepts, freePort, type UpstreamPorts } from '../fronts.ts';
import { sidecarFront } from '../fronts/sidecar.ts';
import { bulkThroughput, bulkUpload } from '../loads/bulk.ts';
import { countSystemCalls } from './strace-count.ts';

const [frontName = 'portwarden', direction = 'upload', mib = '512', tool = 'cpu'] = process.argv.slice(2);
const bytesPerStream = Number(mib) * 1024 * 1024;
const workDir = mkdtempSync(join(tmpdir(), 'portwarden-per-mb-'));
// the source upstream streams its fixed size; the sink takes what the load sends
const upstream = await startScript<UpstreamPorts>(join(import.meta.dirname, '..', 'upstreams.ts'), [], { BULK_BYTES: String(bytesPerStream) });
const target = direction === 'upload' ? upstream.info.sink : upstream.info.source;

let port: number;
let pid: number;
let close: () => Promise<void>;
if (frontName === 'pipe') {
  port = await freePort();
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'fronts', 'pipe-proxy.ts'), String(target)], { stdio: ['pipe', 'ignore', 'inherit'], env: { ...process.env, PIPE_PORT: String(port) } });
  while (!(await accepts(port))) await new Promise((resolve) => setTimeout(resolve, 100));
  pid = child.pid as number;
  close = () => new Promise((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM')));
} else {
  const factory = sidecarFront();
  const front = await factory({ upstreams: upstream.info, workDir });
  port = front.ports[direction === 'upload' ? 'sink' : 'source'] as number;
  pid = (front.process as { pid: number }).pid;
  close = async () => {
    await front.process?.close();
    await factory.close();
  };
}

/** utime + stime (s) and minor faults of every thread of `pid`. */
async function usage(): Promise<{ cpu: number; minflt: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { cpu: (Number(fields[11]) + Number(fields[12])) / 100, minflt: Number(fields[7]) };
}

const load = () => (direction === 'upload' ? bulkUpload(port, bytesPerStream) : bulkThroughput(port));
await load(); // warm-up: JIT, buffers
const megabytes = (2 * bytesPerStream) / 1e6;
if (tool === 'strace') {
  const calls = await countSystemCalls(pid, load, megabytes, workDir);
  process.stdout.write(`${frontName} ${direction}: system calls per MB: ${calls.each.join(', ')}\n`);
} else {
  const before = await usage();
  const rate = await load();
  const after = await usage();
  const cpuPerMb = ((after.cpu - before.cpu) / megabytes) * 1e6;
  const faultsPerMb = (after.minflt - before.minflt) / megabytes;
  process.stdout.write(`${frontName} ${direction}: ${rate.toFixed(0)} MB/s, ${cpuPerMb.toFixed(0)} us CPU per MB, ${faultsPerMb.toFixed(2)} minor faults per MB\n`);
}
await close();
await upstream.close();
rmSync(workDir, { recursive: true, force: true });
