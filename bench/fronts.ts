import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startProgram, startScript, type BenchProcess } from './child.ts';
import type { BenchPki } from './pki.ts';
import { freePort, freePorts } from '../test/helpers/ports.ts';

export { freePort, freePorts };

/** The upstream ports every front forwards to. */
export interface UpstreamPorts {
  http: number;
  echo: number;
  source: number;
  sink: number;
  /** The pgbench load's PostgreSQL server, when that load runs. */
  postgres?: number;
}

/** What a load connects to: the upstreams, and `tls` (mTLS terminated by the front, then the echo upstream). */
export type Target = keyof UpstreamPorts | 'tls';

/** A way in to the upstreams: its listen port per target it serves, and the process, if any. */
export interface Front {
  name: string;
  ports: Partial<Record<Target, number>>;
  process?: BenchProcess;
}

/** What every front is started from. */
export interface FrontContext {
  upstreams: UpstreamPorts;
  workDir: string;
  /** Certificates for the mTLS fronts; absent when `openssl` is not installed. */
  pki?: BenchPki;
}

/** Starts a fresh front process (the RSS measurement starts a second one of each). */
export type FrontFactory = (ctx: FrontContext) => Promise<Front>;

const here = import.meta.dirname;

/** The plain TCP upstreams there are (PostgreSQL only when the pgbench load runs), in a fixed order. */
export function plainTargets(upstreams: UpstreamPorts): (keyof UpstreamPorts)[] {
  return (['http', 'echo', 'source', 'sink', 'postgres'] as const).filter((target) => upstreams[target] !== undefined);
}

export function directFront(upstreams: UpstreamPorts): Front {
  return { name: 'direct', ports: { ...upstreams } };
}

/** The bare Node.js limit: a `node:net` pipe per upstream, and a `node:tls` one (client certificate required) to the echo upstream. */
export async function pipeFront({ upstreams, pki }: FrontContext): Promise<Front> {
  const targets = plainTargets(upstreams);
  const args = targets.map((target) => String(upstreams[target]));
  const env = pki ? { PIPE_TLS_UPSTREAM: String(upstreams.echo), PIPE_TLS_CA: pki.ca, PIPE_TLS_CERT: pki.server.cert, PIPE_TLS_KEY: pki.server.key } : {};
  const child = await startScript<{ ports: number[]; tls?: number }>(join(here, 'fronts/pipe-proxy.ts'), args, env);
  const ports: Partial<Record<Target, number>> = { tls: child.info.tls };
  for (const [i, target] of targets.entries()) ports[target] = child.info.ports[i];
  return { name: 'node pipe', ports, process: child };
}

/** True when `command` is on the PATH. */
export function installed(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let configs = 0;

/** HAProxy in TCP mode with one thread: the reference a production proxy reaches (and TLS termination with a required client certificate). */
export async function haproxyFront({ upstreams, workDir, pki }: FrontContext): Promise<Front> {
  const ports: Partial<Record<Target, number>> = {};
  const sections: string[] = [];
  const targets = plainTargets(upstreams);
  const free = await freePorts(targets.length + 1);
  for (const [i, target] of targets.entries()) {
    const port = (ports[target] = free[i] as number);
    sections.push(`listen ${target}\n  bind 127.0.0.1:${port}\n  server up 127.0.0.1:${upstreams[target]}\n`);
  }
  if (pki) {
    const port = (ports.tls = free[targets.length] as number);
    sections.push(`listen tls\n  bind 127.0.0.1:${port} ssl crt ${pki.server.bundle} ca-file ${pki.ca} verify required\n  server up 127.0.0.1:${upstreams.echo}\n`);
  }
  const config = join(workDir, `haproxy-${++configs}.cfg`);
  writeFileSync(
    config,
    `global\n  nbthread 1\n  maxconn 8000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n${sections.join('')}`,
  );
  const process = await startProgram('haproxy', ['-db', '-f', config], () => accepts(ports.echo as number));
  return { name: 'haproxy 1 thread', ports, process };
}

/**
 * stunnel as the mTLS reference (Debian's `stunnel4`): terminates TLS with a required, verified
 * client certificate and forwards to the echo upstream. It serves the `tls` target only.
 */
export async function stunnelFront({ upstreams, workDir, pki }: FrontContext): Promise<Front> {
  if (!pki) throw new Error('stunnel front needs certificates');
  const port = await freePort();
  const config = join(workDir, `stunnel-${++configs}.conf`);
  writeFileSync(
    config,
    [
      'foreground = yes',
      `pid = ${join(workDir, `stunnel-${configs}.pid`)}`,
      'debug = 0',
      '[tls]',
      `accept = 127.0.0.1:${port}`,
      `connect = 127.0.0.1:${upstreams.echo}`,
      `cert = ${pki.server.cert}`,
      `key = ${pki.server.key}`,
      `CAfile = ${pki.ca}`,
      'verifyChain = yes',
      'requireCert = yes',
      '',
    ].join('\n'),
  );
  const process = await startProgram('stunnel', [config], () => accepts(port));
  return { name: 'stunnel', ports: { tls: port }, process };
}


export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
