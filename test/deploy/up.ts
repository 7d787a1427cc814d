import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { connect } from 'node:net';
import { freePorts } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';

export interface Up {
  child: ChildProcessWithoutNullStreams;
  /** The licensed port, the sidecar's admin port and the authority's URL. */
  port: number;
  adminPort: number;
  authorityUrl: string;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `portwarden up` (authority, sidecar, demo upstream, all on loopback) and resolves
 * when it prints its banner. The authority listens on a port the system picks.
 */
export async function startUp(options: { command: string; args?: string[]; cwd?: string; env: NodeJS.ProcessEnv; dataDir: string }): Promise<Up> {
  const [port = 0, adminPort = 0] = await freePorts(2);
  const child = spawn(options.command, [...(options.args ?? []), 'up', '--data', options.dataDir, '--port', String(port), '--admin-port', String(adminPort)], {
    cwd: options.cwd,
    env: { ...options.env, PORTWARDEN_LISTEN: '127.0.0.1:0' },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await waitFor(() => output.includes('portwarden is up') || child.exitCode !== null, { timeoutMs: 20_000, what: '`portwarden up` banner' });
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  if (child.exitCode !== null) throw new Error(`portwarden up exited ${child.exitCode}:\n${output}`);
  const authorityUrl = /authority\s+(http:\/\/\S+)/.exec(output)?.[1] ?? '';
  return {
    child,
    port,
    adminPort,
    authorityUrl,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** One HTTP/1.1 request over a raw TCP connection (through the licensed port); the whole answer. */
export function httpOverTcp(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nhost: demo\r\nconnection: close\r\n\r\n'));
    let answer = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer through the licensed port')));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}
