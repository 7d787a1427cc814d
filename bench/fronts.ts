import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { startProgram, startScript, type BenchProcess } from './child.ts';

/** The upstream ports every front forwards to. */
export interface UpstreamPorts {
  http: number;
  echo: number;
  source: number;
}

/** A way in to the upstreams: its listen ports (same keys) and the process, if any. */
export interface Front {
  name: string;
  ports: UpstreamPorts;
  process?: BenchProcess;
}

const here = import.meta.dirname;

export function directFront(upstreams: UpstreamPorts): Front {
  return { name: 'direct', ports: upstreams };
}

export async function pipeFront(upstreams: UpstreamPorts): Promise<Front> {
  const child = await startScript<{ ports: number[] }>(join(here, 'fronts/pipe-proxy.ts'), [String(upstreams.http), String(upstreams.echo), String(upstreams.source)]);
  const [http = 0, echo = 0, source = 0] = child.info.ports;
  return { name: 'node pipe', ports: { http, echo, source }, process: child };
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

/** HAProxy in TCP mode with one thread: the reference a production proxy reaches. */
export async function haproxyFront(upstreams: UpstreamPorts, workDir: string): Promise<Front> {
  const ports = { http: await freePort(), echo: await freePort(), source: await freePort() };
  const sections = (Object.keys(ports) as (keyof UpstreamPorts)[]).map(
    (key) => `listen ${key}\n  bind 127.0.0.1:${ports[key]}\n  server up 127.0.0.1:${upstreams[key]}\n`,
  );
  const config = join(workDir, 'haproxy.cfg');
  writeFileSync(
    config,
    `global\n  nbthread 1\n  maxconn 8000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n${sections.join('')}`,
  );
  const process = await startProgram('haproxy', ['-db', '-f', config], () => accepts(ports.echo));
  return { name: 'haproxy 1 thread', ports, process };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
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
