import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { onTestFinished } from 'vitest';
import type { Clock } from '../../src/shared/clock.ts';
import { deepFreeze } from '../../src/shared/config/frozen.ts';
import { listenerConfig, sidecarSchema, type ListenerConfig, type SidecarConfig } from '../../src/shared/config/sidecar-schema.ts';
import { createLogger } from '../../src/shared/logger.ts';
import type { HostPort } from '../../src/shared/address.ts';
import type { AccessRecord } from '../../src/sidecar/proxy/access-record.ts';
import { createSidecarMetrics, type SidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { Sidecar, type SidecarOptions } from '../../src/sidecar/sidecar.ts';
import { LOCAL_IDENTITY, StaticLicenseSource, testLicense } from './static-license-source.ts';

/** One parsed NDJSON log line. */
export type LogLine = { level: string; msg: string } & Record<string, unknown>;

/** A raw port entry as it would be written in YAML; listen defaults to 127.0.0.1:0. */
export type RawPort = { name: string; upstream: string } & Record<string, unknown>;

/** A sidecar configuration from YAML-shaped input, with loopback, ephemeral defaults for tests. */
export function testConfig(ports: RawPort[], extra: Record<string, unknown> = {}): SidecarConfig {
  return deepFreeze(sidecarSchema.parse({
    service: 'payments',
    admin: { listen: '127.0.0.1:0' },
    identities: [{ cidr: '127.0.0.0/8', identity: LOCAL_IDENTITY }],
    shutdown_timeout: '5s',
    ...extra,
    ports: ports.map((port) => ({ listen: '127.0.0.1:0', ...port })),
  }));
}

/** The listener configuration of the `index`-th port's first listen address. */
export function firstListener(config: SidecarConfig, index = 0): ListenerConfig {
  const port = config.ports[index]!;
  return listenerConfig(port, port.listens[0]);
}

export interface SidecarHarness {
  sidecar: Sidecar;
  source: StaticLicenseSource;
  metrics: SidecarMetrics;
  logs: LogLine[];
  records: AccessRecord[];
  /** The bound address of a port. */
  address(port: string): HostPort;
  adminUrl(): string;
  /** The value of a metric series from the registry; undefined when the series does not exist. */
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
}

export interface HarnessOptions extends Partial<Omit<SidecarOptions, 'config' | 'logger' | 'metrics' | 'licenseSource'>> {
  source?: StaticLicenseSource;
  /** Give every port a valid license at start (default true). */
  licensed?: boolean;
  clock?: Clock;
  processMetrics?: boolean;
}

/** Starts an in-process Sidecar with a static license source; closed when the test finishes. */
export async function startSidecar(config: SidecarConfig, options: HarnessOptions = {}): Promise<SidecarHarness> {
  const { source = new StaticLicenseSource(options.clock), licensed = true, processMetrics = false, ...rest } = options;
  if (licensed) for (const port of config.ports) source.set(port.name, testLicense({ port: port.name, clock: options.clock }));
  const logs: LogLine[] = [];
  const records: AccessRecord[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } });
  const metrics = createSidecarMetrics(new Registry(), { processDefaults: processMetrics });
  const sidecar = new Sidecar({ config, logger, metrics, licenseSource: source, onAccess: (record) => records.push(record), ...rest });
  onTestFinished(() => sidecar.close({ deadlineMs: 0 }).then(() => undefined));
  await sidecar.start();
  return {
    sidecar,
    source,
    metrics,
    logs,
    records,
    address(port) {
      const text = sidecar.addresses.get(port);
      if (!text) throw new Error(`no port ${port}`);
      const [host = '', number = ''] = text.split(/:(?=\d+$)/);
      return { host, port: Number(number) };
    },
    adminUrl() {
      return `http://${sidecar.adminAddress ?? ''}`;
    },
    async metric(name, labels = {}) {
      sidecar.beforeScrape();
      const found = await metrics.registry.getSingleMetric(name)?.get();
      const series = found?.values.find((value) => Object.entries(labels).every(([key, want]) => String(value.labels[key]) === want));
      return series?.value;
    },
  };
}

/** A TCP server on 127.0.0.1:0 running `handler` per connection; closed (connections cut) when the test finishes. */
export async function startUpstream(handler: (socket: Socket) => void): Promise<{ server: Server; port: number; address: string; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    handler(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { server, port, address: `127.0.0.1:${port}`, sockets };
}

/** Echoes every byte back and ends when the caller ends (half-close respected). */
export function echo(socket: Socket): void {
  socket.pipe(socket);
}

/** Writes `text` and resolves to whether the next chunk read back is exactly it (an echo upstream). */
export async function echoes(socket: Socket, text: string): Promise<boolean> {
  const reply = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  socket.write(text);
  return (await reply) === text;
}

/** Connects to `address`; resolves once connected. Errors after that are the test's to handle. */
export function connectTo(address: HostPort): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
    onTestFinished(() => void socket.destroy());
  });
}

/** Everything the socket delivers until it closes (ending its own side at EOF), with how it closed. */
export function readAll(socket: Socket): Promise<{ data: Buffer; error: NodeJS.ErrnoException | undefined }> {
  const chunks: Buffer[] = [];
  let error: NodeJS.ErrnoException | undefined;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.once('end', () => socket.end());
  socket.on('error', (err) => {
    error = err;
  });
  return new Promise((resolve) => socket.once('close', () => resolve({ data: Buffer.concat(chunks), error })));
}

/** Resolves to how a refused or cut connection ended: 'closed' (EOF, no data) or the error code. */
export function closedBy(socket: Socket): Promise<string> {
  return readAll(socket).then(({ data, error }) => error?.code ?? (data.length > 0 ? 'data' : 'closed'));
}

/** Writes `totalBytes` of random data in `chunkBytes` pieces, honouring backpressure; resolves to its sha256. */
export async function sendRandom(socket: Socket, totalBytes: number, chunkBytes = 1 << 20): Promise<string> {
  const hash = createHash('sha256');
  for (let sent = 0; sent < totalBytes; sent += chunkBytes) {
    const chunk = randomBytes(Math.min(chunkBytes, totalBytes - sent));
    hash.update(chunk);
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  return hash.digest('hex');
}

/** sha256 of everything the socket delivers until it ends. */
export function hashIncoming(socket: Socket): Promise<{ hash: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve({ hash: hash.digest('hex'), bytes }));
    socket.once('error', reject);
  });
}

/** Open file descriptors of this process. */
export async function openFds(): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir('/proc/self/fd')).length;
}
