import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SystemCalls {
  /** Every system call, divided by the units of work. */
  total: number;
  /** `name per-unit` for each system call strace counted. */
  each: string[];
}

/**
 * Counts the system calls of process `pid` (every thread) while `work` runs, with `strace -c`,
 * divided by `units`. With `TRACE=FILE` set, strace writes the full timed trace there instead
 * and nothing is counted. `settleMs` waits after the work for what it left (log batches).
 */
export async function countSystemCalls(pid: number, work: () => Promise<unknown>, units: number, workDir: string, settleMs = 0): Promise<SystemCalls> {
  const trace = process.env.TRACE;
  const out = trace ?? join(workDir, 'strace.txt');
  const strace = spawn('strace', [...(trace ? ['-tt'] : ['-c']), '-f', '-p', String(pid), '-o', out], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 1000)); // attached to every thread
  await work();
  if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
  strace.kill('SIGINT');
  await new Promise((resolve) => strace.once('exit', resolve));
  if (trace) return { total: 0, each: [] };
  const rows = readFileSync(out, 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 5 && /^\d+$/.test(cols[3] ?? '') && cols.at(-1) !== 'total');
  let total = 0;
  const each = rows.map((cols) => {
    const calls = Number(cols[3]);
    total += calls;
    return `${cols.at(-1)} ${(calls / units).toFixed(2)}`;
  });
  return { total: total / units, each };
}
