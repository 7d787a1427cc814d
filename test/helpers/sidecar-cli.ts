import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { tempDir } from './tmp.ts';
import { waitFor } from './wait.ts';
import type { LogLine } from './sidecar-harness.ts';
import { LOCAL_IDENTITY } from './static-license-source.ts';

const node = 'node_modules/.bin/node';
const bin = 'bin/portwarden.js';

export interface SidecarProcess {
  child: ChildProcessWithoutNullStreams;
  /** NDJSON lines from standard output, parsed as they arrive. */
  logs: LogLine[];
  stderr(): string;
  /** Resolves to the exit code. */
  exited: Promise<number | null>;
  /** Waits for a log line with `msg`, optionally matching more fields. */
  waitForLog(msg: string, fields?: Record<string, unknown>, timeoutMs?: number): Promise<LogLine>;
}

/** Spawns `portwarden sidecar --config FILE` (the real CLI); killed when the test finishes. */
export function spawnSidecar(configFile: string, options: { env?: Record<string, string>; prefix?: string[] } = {}): SidecarProcess {
  const argv = [node, bin, 'sidecar', '--config', configFile];
  const [command = node, ...args] = [...(options.prefix ?? []), ...argv];
  const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', ...options.env } });
  const logs: LogLine[] = [];
  let pending = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) logs.push(JSON.parse(line) as LogLine);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog: (msg, fields = {}, timeoutMs = 15_000) =>
      waitFor(() => logs.find((line) => line.msg === msg && Object.entries(fields).every(([key, value]) => line[key] === value)), {
        timeoutMs,
        what: `log "${msg}"`,
      }).catch((err: Error) => {
        throw new Error(`${err.message}; exit ${child.exitCode}, stderr: ${stderr}`);
      }),
  };
}

/** A temp dir with a token file for `service` and the YAML of a sidecar that uses the fake authority. */
export async function sidecarFiles(options: {
  authorityUrl: string;
  token: string;
  body: string;
  /** More `telemetry:` keys, indented. */
  telemetry?: string[];
}): Promise<{ dir: string; file: string }> {
  const dir = await tempDir('portwarden-cli-');
  const tokenFile = join(dir, 'sidecar.token');
  await writeFile(tokenFile, `${options.token}\n`, { mode: 0o600 });
  const file = join(dir, 'sidecar.yaml');
  const text = [
    'authority:',
    `  url: ${options.authorityUrl}`,
    `  token_file: ${tokenFile}`,
    `  cache_dir: ${join(dir, 'cache')}`,
    'telemetry:',
    `  spool_dir: ${join(dir, 'spool')}`,
    ...(options.telemetry ?? []),
    'inventory:',
    '  enabled: false',
    options.body,
  ].join('\n');
  await writeFile(file, text);
  return { dir, file };
}

/** Waits for `sidecar started`; resolves to the `api` port's address and the admin URL. */
export async function startedAt(sidecar: SidecarProcess): Promise<{ address: { host: string; port: number }; admin: string }> {
  const started = await sidecar.waitForLog('sidecar started');
  const [host = '', port = ''] = String((started.ports as Record<string, string>).api).split(':');
  return { address: { host, port: Number(port) }, admin: `http://${String(started.admin)}` };
}

/**
 * The body of a one-port sidecar file: service `payments`, admin on an ephemeral loopback
 * port, loopback callers as LOCAL_IDENTITY, and `api` on 127.0.0.1:0 in front of `upstream`.
 * `extra` lines go before `ports:` (e.g. `shutdown_timeout: 2s`).
 */
export function onePortBody(upstream: string, extra: string[] = []): string {
  return [
    'service: payments',
    'admin: { listen: 127.0.0.1:0 }',
    `identities: [{ cidr: 127.0.0.0/8, identity: "${LOCAL_IDENTITY}" }]`,
    ...extra,
    'ports:',
    `  - { name: api, listen: 127.0.0.1:0, upstream: ${upstream} }`,
  ].join('\n');
}
