import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ok, startAuthority, type BenchAuthority } from '../authority.ts';
import { startProgram } from '../child.ts';
import { freePorts, plainTargets, type FrontFactory, type Target } from '../fronts.ts';
import { clientIdentity } from '../pki.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'portwarden.js');
const identity = 'spiffe://bench.local/ns/load/sa/client';

export interface SidecarFrontOptions {
  /** Where `--cpu-prof` writes the sidecar's profile (the bench's `--cpu-prof DIR`). */
  cpuProfDir?: string | undefined;
  /** A command the sidecar runs under (valgrind, strace), with its arguments; node and the sidecar's argv follow. */
  wrap?: string[] | undefined;
}

/**
 * The portwarden sidecar as users run it: a real authority process (one, shared), a sidecar
 * token and one license per port, and `portwarden sidecar` with identity mode `source`,
 * telemetry on and access logs at `info` (to /dev/null), fronting the same upstreams (the
 * PostgreSQL server too, when the pgbench load runs: licensed and in mode `source` like the
 * rest); with certificates, one more port in identity mode `mtls` to the echo upstream. Each call starts a
 * fresh sidecar process under a service name of its own (so its licenses are its own).
 */
export function sidecarFront({ cpuProfDir, wrap = [] }: SidecarFrontOptions = {}): FrontFactory & { close(): Promise<void> } {
  let authority: Promise<BenchAuthority> | undefined;
  let started = 0;
  const factory: FrontFactory = async ({ upstreams, workDir, pki }) => {
    authority ??= startAuthority(workDir);
    const api = await authority;
    const service = `bench-${++started}`;
    const { token } = await api.call<{ token: string }>('POST', '/v1/tokens', { role: 'sidecar', service });
    const tokenFile = join(workDir, `${service}.token`);
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const targets: Target[] = [...plainTargets(upstreams), ...(pki ? (['tls'] as const) : [])];
    const ports: Partial<Record<Target, number>> = {};
    const [adminPort = 0, ...free] = await freePorts(targets.length + 1);
    for (const [i, target] of targets.entries()) {
      const number = (ports[target] = free[i] as number);
      const allow = [target === 'tls' ? clientIdentity : identity];
      await api.call('POST', '/v1/licenses', { service, port_name: target, port: { number }, allow });
    }
    const config = {
      service,
      authority: { url: api.url, token_file: tokenFile, cache_dir: join(workDir, `${service}-cache`) },
      admin: { listen: `127.0.0.1:${adminPort}` },
      identities: [{ cidr: '127.0.0.0/8', identity }],
      telemetry: { spool_dir: join(workDir, `${service}-spool`), report_interval: '5s' },
      inventory: { enabled: false },
      ...(process.env.BENCH_LOG_LEVEL ? { log: { level: process.env.BENCH_LOG_LEVEL } } : {}),
      ports: targets.map((target) => ({
        name: target,
        listen: `127.0.0.1:${ports[target]}`,
        upstream: `127.0.0.1:${upstreams[target === 'tls' ? 'echo' : target] as number}`,
        max_connections: 20_000,
        ...(target === 'tls' && pki ? { identity: { mode: 'mtls', ca: pki.ca, cert: pki.server.cert, key: pki.server.key } } : {}),
      })),
    };
    const configFile = join(workDir, `${service}.yaml`);
    writeFileSync(configFile, stringify(config));
    const profile = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
    if (process.env.BENCH_NODE_FLAGS) profile.push(...process.env.BENCH_NODE_FLAGS.split(' '));
    const [command = process.execPath, ...args] = [...wrap, process.execPath, ...profile, bin, 'sidecar', '--config', configFile];
    const sidecar = await startProgram(command, args, () => ok(`http://127.0.0.1:${adminPort}/readyz`), {}, wrap.length > 0 ? 600_000 : 10_000);
    return { name: 'portwarden', ports, process: sidecar };
  };
  return Object.assign(factory, {
    close: async () => {
      if (authority) await (await authority).process.close();
    },
  });
}
