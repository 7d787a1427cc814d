/**
 * The `startup` load: how long a user waits for a command, from exec to its exit (or, for the
 * sidecar, to `/readyz` 200 from last-known-good with the authority down), as the median of
 * fresh processes, beside `node -e 0` on the same Node in the same run.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ok, startAuthority, adminToken } from './authority.ts';
import { rssMiB } from './child.ts';
import { freePorts } from './fronts.ts';
import { median } from './stats.ts';

const bin = join(import.meta.dirname, '..', 'bin', 'portwarden.js');

/** The targets of the structure issue, in seconds. */
const targets: Record<string, number> = {
  'portwarden --help': 0.25,
  'portwarden licenses list': 0.4,
  'portwarden check (3 documents)': 0.5,
  'portwarden sidecar, ready from last-known-good': 0.5,
};

/** Wall time of one run of `args` to its exit, in seconds; it must exit 0. */
async function timed(args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const started = process.hrtime.bigint();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, ...env } });
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Seconds from exec until `/readyz` answers 200, and the process's RSS then (MiB); the process is stopped after. */
async function timedReady(args: string[], readyz: string): Promise<{ seconds: number; rss: number }> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  try {
    const deadline = Date.now() + 10_000;
    while (!(await ok(readyz))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('the sidecar did not become ready');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { seconds, rss: await rssMiB(child.pid ?? 0) };
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

const manifest = `apiVersion: v1
kind: Service
metadata: { name: payments, labels: { portwarden.dev/service: payments } }
spec: { ports: [{ name: api, port: 20001, targetPort: 8443 }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: payments, labels: { portwarden.dev/service: payments } }
spec:
  selector: { matchLabels: { app: payments } }
  template:
    metadata: { labels: { app: payments } }
    spec: { containers: [{ name: app, image: payments:1, ports: [{ name: api, containerPort: 20001 }] }] }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: payments }
data: { mode: live }
`;

/** Runs every startup measurement `runs` times each and returns the table's lines. */
export async function startupTimes(smoke: boolean, workDir: string): Promise<string[]> {
  const runs = smoke ? 2 : 10;
  const dir = join(workDir, 'startup');
  mkdirSync(dir, { recursive: true });
  const authority = await startAuthority(dir);
  const rows: [string, number[]][] = [];
  const measure = async (label: string, run: () => Promise<number>) => {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) samples.push(await run());
    rows.push([label, samples]);
  };
  const cli = { PORTWARDEN_AUTHORITY: authority.url, PORTWARDEN_TOKEN: adminToken };
  let sidecarRss: number[] = [];
  try {
    // a few licenses, so `licenses list` prints something
    const { token } = await authority.call<{ token: string }>('POST', '/v1/tokens', { role: 'sidecar', service: 'startup' });
    const tokenFile = join(dir, 'sidecar.token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const [listen = 0, admin = 0, dead = 0] = await freePorts(3);
    await authority.call('POST', '/v1/licenses', { service: 'startup', port_name: 'api', port: { number: listen }, allow: ['spiffe://bench.local/ns/load/sa/client'] });
    const manifestFile = join(dir, 'payments.k8s.yaml');
    writeFileSync(manifestFile, manifest);

    // the sidecar's first start fills last-known-good; the measured starts find the authority gone (a closed port)
    const config = (url: string) => ({
      service: 'startup',
      authority: { url, token_file: tokenFile, cache_dir: join(dir, 'cache') },
      admin: { listen: `127.0.0.1:${admin}` },
      identities: [{ cidr: '127.0.0.0/8', identity: 'spiffe://bench.local/ns/load/sa/client' }],
      telemetry: { spool_dir: join(dir, 'spool') },
      inventory: { enabled: false },
      log: { level: 'warn' },
      ports: [{ name: 'api', listen: `127.0.0.1:${listen}`, upstream: '127.0.0.1:1' }],
    });
    const live = join(dir, 'sidecar-live.yaml');
    const down = join(dir, 'sidecar-down.yaml');
    writeFileSync(live, stringify(config(authority.url)));
    writeFileSync(down, stringify(config(`http://127.0.0.1:${dead}`)));
    await timedReady([bin, 'sidecar', '--config', live], `http://127.0.0.1:${admin}/readyz`);

    await measure('node -e 0', () => timed(['-e', '0']));
    await measure('portwarden --help', () => timed([bin, '--help']));
    await measure('portwarden licenses list', () => timed([bin, 'licenses', 'list'], cli));
    await measure('portwarden check (3 documents)', () => timed([bin, 'check', manifestFile, '--env', 'default'], cli));
    const ready: number[] = [];
    await measure('portwarden sidecar, ready from last-known-good', async () => {
      const { seconds, rss } = await timedReady([bin, 'sidecar', '--config', down], `http://127.0.0.1:${admin}/readyz`);
      ready.push(rss);
      return seconds;
    });
    sidecarRss = ready;
  } finally {
    await authority.process.close();
  }
  const lines = [`| startup (median of ${runs} fresh processes) | seconds | target | |`, '| --- | ---: | ---: | --- |'];
  for (const [label, samples] of rows) {
    const value = median(samples);
    const target = targets[label];
    lines.push(`| ${label} | ${value.toFixed(3)} | ${target === undefined ? '' : target.toFixed(2)} | ${target === undefined ? '' : value <= target ? 'met' : 'not met'} |`);
  }
  if (sidecarRss.length > 0) lines.push('', `sidecar RSS when first ready: ${median(sidecarRss).toFixed(1)} MiB (median)`);
  return lines;
}
