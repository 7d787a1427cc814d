import { execFile, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort, freePortIn } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The image itself: the Dockerfile built by buildah (deploy/verify-image.sh build, on a local
 * stand-in for node:24-bookworm-slim), then an authority and a sidecar container run by
 * podman, locked down as the Kubernetes manifests run them (uid 1000, no capabilities, no
 * privilege escalation, read-only root file system, a volume on /var/lib/portwarden). Every
 * CLI call goes into the image too (`podman exec`); nothing here imports the sources.
 *
 * podman, buildah, runc and debootstrap come with Debian, not with npm, and need root:
 * `.ci/run` installs them, so in CI (`CI` set) this always runs and a missing tool fails it. On
 * a developer's machine without them it is skipped, and the reason is printed once.
 */

const script = 'deploy/verify-image.sh';
const run = promisify(execFile);
const tools = ['podman', 'buildah', 'runc', 'debootstrap'];
const missing = tools.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
const asRoot = process.getuid?.() === 0;
const runnable = missing.length === 0 && asRoot;
if (!runnable && !process.env.CI) {
  console.warn(
    `the image is not built and run here (CI does): ${missing.length ? `${missing.join(', ')} not installed: apt-get install -y --no-install-recommends podman buildah runc debootstrap` : 'it needs root'}`,
  );
}
const describeImage = runnable || process.env.CI ? describe : describe.skip;

/** The script's environment: this one without the npm_* variables of an enclosing `npm test`. */
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
const image = process.env.PORTWARDEN_IMAGE ?? 'localhost/portwarden:verify';
const service = 'payments';
const caller = 'spiffe://verify.local/ns/billing/sa/api';
const intruder = 'spiffe://verify.local/ns/web/sa/frontend';

async function verifyImage(args: string[], timeout = 60_000): Promise<string> {
  try {
    return (await run(script, args, { env, timeout, maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    const failed = err as { stderr?: string; message: string };
    throw new Error(`${script} ${args.join(' ')} failed: ${failed.message}\n${failed.stderr ?? ''}`);
  }
}

const podman = (args: string[], timeout?: number) => verifyImage(['podman', ...args], timeout);

interface Container {
  name: string;
  child: ChildProcessWithoutNullStreams;
  output(): string;
  /** The container's exit code, as `podman run` returns it. */
  exited: Promise<number | null>;
}

const containers: Container[] = [];

/** `verify-image.sh run`: one locked-down container in the foreground; `volumes` are podman's `-v`. */
function startContainer(role: string, volumes: string[], args: string[]): Container {
  const name = `portwarden-verify-${role}-${process.pid}`;
  const child = spawn(script, ['run', '--name', name, ...volumes.flatMap((volume) => ['--volume', volume]), '--', ...args], { env });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const container = { name, child, output: () => output, exited };
  containers.push(container);
  return container;
}

/** The host PIDs of the container's PID 1 (tini) and of its child (Node.js, portwarden). */
async function processes(container: Container): Promise<{ init: number; node: number }> {
  const init = Number((await podman(['inspect', '--format', '{{.State.Pid}}', container.name])).trim());
  const children = await readFile(`/proc/${init}/task/${init}/children`, 'utf8');
  const node = Number(children.trim().split(/\s+/)[0]);
  expect(Number.isInteger(node) && node > 0, `${container.name}: tini (pid ${init}) has a child`).toBe(true);
  return { init, node };
}

/** `/proc/PID/status` as a map of its fields. */
async function status(pid: number): Promise<Map<string, string>> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return new Map(text.split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()] as const));
}

/** The options of the mounts the process sees, by mount point (`/proc/PID/mountinfo`). */
async function mounts(pid: number): Promise<Map<string, string[]>> {
  const text = await readFile(`/proc/${pid}/mountinfo`, 'utf8');
  return new Map(text.split('\n').filter(Boolean).map((line) => {
    const fields = line.split(' ');
    return [fields[4] ?? '', (fields[5] ?? '').split(',')] as const;
  }));
}

/** What a write to each path gives inside the container, as its user: 'ok' or the error code. */
async function tryWrites(container: Container, paths: string[]): Promise<Record<string, string>> {
  const program = `const fs = require('node:fs'); const out = {};
    for (const p of ${JSON.stringify(paths)}) { try { fs.writeFileSync(p, 'x'); fs.rmSync(p); out[p] = 'ok'; } catch (e) { out[p] = e.code; } }
    console.log(JSON.stringify(out));`;
  return JSON.parse(await podman(['exec', container.name, 'node', '-e', program])) as Record<string, string>;
}

/** Connects from `localAddress`, sends a line and resolves to what came back before the connection closed. */
function exchange(port: number, localAddress: string, line = 'ping\n'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => socket.end(line));
    let answer = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no end of the connection from ${localAddress}`)));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(answer) : reject(err)));
    socket.on('close', () => resolve(answer));
  });
}

/** A connection kept open, and a way to wait for the next echoed bytes on it. */
async function openConnection(port: number): Promise<{ socket: Socket; echo(line: string): Promise<string> }> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const opened = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' }, () => resolve(opened));
    opened.once('error', reject);
  });
  return {
    socket,
    echo: (line) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no echo on the open connection')), 10_000);
        socket.once('data', (chunk: Buffer) => {
          clearTimeout(timer);
          resolve(chunk.toString());
        });
        socket.write(line);
      }),
  };
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: await response.text() };
}

/** The sample of `metric` whose labels include all of `labels`, or undefined. */
function sample(metrics: string, metric: string, labels: Record<string, string>): number | undefined {
  for (const line of metrics.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== metric) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[3]);
  }
  return undefined;
}

describeImage('the image, built with buildah and run with podman', () => {
  let root = '';
  let build = { seconds: 0, size: 0, baseSize: 0, log: '' };
  let authority: Container;
  let sidecar: Container;
  let authorityUrl = '';
  let adminUrl = '';
  let licensedPort = 0;
  let upstream: Server;
  const authorityData = () => join(root, 'authority-data');
  const sidecarData = () => join(root, 'sidecar-data');

  beforeAll(async () => {
    // the build first: cold it makes the stand-in base (debootstrap) and runs apt-get and npm
    // ci; warm it takes both from the image store, and skips the build when none of its inputs
    // changed. Niced: other test files share the cores.
    const started = Date.now();
    const built = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('nice', ['-n', '10', script, 'build'], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    if (built.code !== 0) throw new Error(`${script} build exited ${built.code}:\n${built.stderr.slice(-4000)}`);
    const fields = Object.fromEntries(built.stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
    build = { seconds: Math.round((Date.now() - started) / 1000), size: Number(fields.size), baseSize: Number(fields.base_size), log: built.stderr };
    const runtime = (await podman(['info', '--format', '{{.Host.OCIRuntime.Name}}'])).trim();
    // the script's own account (stand-in cached or built, and how long each part took), then the totals
    const steps = build.log.split('\n').filter((line) => line.startsWith('verify-image.sh: '));
    console.log(
      [
        ...steps,
        `${image}: ready after ${build.seconds}s, ${(build.size / 1e6).toFixed(0)} MB uncompressed (stand-in base ${(build.baseSize / 1e6).toFixed(0)} MB); containers run by podman run with ${runtime}`,
      ].join('\n'),
    );

    root = await mkdtemp(join(tmpdir(), 'portwarden-image-run-'));
    // the volumes: writable by the image's user only, as a Kubernetes volume with fsGroup is
    for (const dir of [authorityData(), sidecarData()]) {
      await mkdir(dir);
      await chown(dir, 1000, 1000);
    }
    // the configuration, mounted read-only: readable by the image's user
    const authorityConfig = join(root, 'authority-config');
    const sidecarConfig = join(root, 'sidecar-config');
    await Promise.all([mkdir(authorityConfig), mkdir(sidecarConfig)]);
    await Promise.all([chmod(root, 0o755), chmod(authorityConfig, 0o755), chmod(sidecarConfig, 0o755)]);

    // the authority on a free port; data_dir stays ./data: the image's working directory is the volume
    const authorityPort = await freePort();
    authorityUrl = `http://127.0.0.1:${authorityPort}`;
    await writeFile(join(authorityConfig, 'authority.yaml'), stringify({ listen: `127.0.0.1:${authorityPort}`, log: { level: 'info' } }), { mode: 0o644 });
    authority = startContainer('authority', [`${authorityConfig}:/etc/portwarden:ro`, `${authorityData()}:/var/lib/portwarden`], ['authority', '--config', '/etc/portwarden/authority.yaml']);
    await waitFor(async () => (await get(`${authorityUrl}/readyz`)).status === 200 || authority.child.exitCode !== null, { timeoutMs: 60_000, what: 'the authority container to be ready' }).catch((err: Error) => {
      throw new Error(`${err.message}\n${authority.output()}`);
    });
    if (authority.child.exitCode !== null) throw new Error(`the authority container exited ${authority.child.exitCode}:\n${authority.output()}`);

    // the register and the license, and the sidecar's token, through the image's own CLI
    const adminToken = (await readFile(join(authorityData(), 'data', 'admin.token'), 'utf8')).trim();
    const cli = async (args: string[]) =>
      podman(['exec', '--env', `PORTWARDEN_TOKEN=${adminToken}`, '--env', `PORTWARDEN_AUTHORITY=${authorityUrl}`, authority.name, 'portwarden', ...args]);
    licensedPort = await freePortIn(20000, 29999);
    await cli(['ports', 'request', '--service', service, '--name', 'api', '--number', String(licensedPort), '--owner', 'team-payments', '--license', '--allow', caller]);
    const sidecarToken = (await cli(['tokens', 'create', '--role', 'sidecar', '--service', service])).trim();
    expect(sidecarToken.length).toBeGreaterThan(20);
    await writeFile(join(sidecarConfig, 'sidecar.token'), `${sidecarToken}\n`, { mode: 0o600 });
    await chown(join(sidecarConfig, 'sidecar.token'), 1000, 1000);

    // the service behind the sidecar: an echo server on the host
    upstream = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as { port: number }).port;
    const adminPort = await freePort();
    adminUrl = `http://127.0.0.1:${adminPort}`;
    await writeFile(
      join(sidecarConfig, 'sidecar.yaml'),
      stringify({
        service,
        authority: { url: authorityUrl, token_file: '/etc/portwarden/sidecar.token' },
        admin: { listen: `127.0.0.1:${adminPort}` },
        // two callers on loopback, told apart by their source address
        identities: [
          { cidr: '127.0.0.1/32', identity: caller },
          { cidr: '127.0.0.2/32', identity: intruder },
        ],
        shutdown_timeout: '20s',
        ports: [{ name: 'api', listen: `127.0.0.1:${licensedPort}`, upstream: `127.0.0.1:${upstreamPort}`, identity: { mode: 'source' } }],
      }),
      { mode: 0o644 },
    );
    // the image's default command: sidecar --config /etc/portwarden/sidecar.yaml
    sidecar = startContainer('sidecar', [`${sidecarConfig}:/etc/portwarden:ro`, `${sidecarData()}:/var/lib/portwarden`], []);
    await waitFor(async () => (await get(`${adminUrl}/readyz`)).status === 200 || sidecar.child.exitCode !== null, { timeoutMs: 60_000, what: 'the sidecar container to be ready' }).catch((err: Error) => {
      throw new Error(`${err.message}\n${sidecar.output()}`);
    });
    if (sidecar.child.exitCode !== null) throw new Error(`the sidecar container exited ${sidecar.child.exitCode}:\n${sidecar.output()}`);
  }, 900_000);

  afterAll(async () => {
    for (const container of containers) {
      if (container.child.exitCode === null && container.child.signalCode === null) {
        await podman(['rm', '--force', '--time', '0', container.name]).catch(() => undefined);
        await container.exited;
      }
    }
    await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve(undefined)));
    if (root) await rm(root, { recursive: true, force: true });
  }, 60_000);

  it('is the Dockerfile as written: tini, portwarden and production dependencies only, no npm, a few MB over its base', async () => {
    const program = `const fs = require('node:fs');
      console.log(JSON.stringify({
        tini: fs.existsSync('/usr/bin/tini'),
        portwarden: fs.realpathSync('/usr/local/bin/portwarden'),
        npm: ['/usr/local/bin/npm', '/usr/local/bin/npx', '/usr/local/lib/node_modules/npm'].filter((p) => fs.existsSync(p)),
        modules: fs.readdirSync('/app/node_modules'),
        node: process.version,
        env: process.env.NODE_ENV,
        compileCache: process.env.NODE_COMPILE_CACHE,
        cached: fs.readdirSync(process.env.NODE_COMPILE_CACHE ?? '/nonexistent', { recursive: true }).length,
      }));`;
    const found = JSON.parse(await podman(['exec', authority.name, 'node', '-e', program])) as { tini: boolean; portwarden: string; npm: string[]; modules: string[]; node: string; env: string; compileCache: string; cached: number };
    expect(found).toMatchObject({ tini: true, portwarden: '/app/bin/portwarden.js', npm: [], env: 'production' });
    expect(found.node).toMatch(/^v24\./);
    // the compile cache was filled at build time, so a start on the read-only root skips stripping and compiling
    expect(found.compileCache).toBe('/app/.compile-cache');
    expect(found.cached, 'compiled modules in the cache').toBeGreaterThan(300);
    const lock = JSON.parse(await readFile('package.json', 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const name of Object.keys(lock.dependencies)) expect(found.modules, name).toContain(name);
    for (const name of Object.keys(lock.devDependencies)) expect(found.modules, `${name} is a devDependency`).not.toContain(name.split('/')[0]);
    // what the Dockerfile adds to the base: node_modules, the sources and tini (about 20 MB);
    // development dependencies or apt's caches would be hundreds
    expect(build.size, 'image size in bytes').toBeGreaterThan(build.baseSize);
    expect(build.size - build.baseSize, `the image adds ${((build.size - build.baseSize) / 1e6).toFixed(1)} MB to its base`).toBeLessThan(50e6);
  });

  it('runs both containers as uid 1000 with no capabilities, no privilege escalation and a seccomp filter, under tini as PID 1', async () => {
    for (const container of [authority, sidecar]) {
      const { init, node } = await processes(container);
      const initStatus = await status(init);
      expect(initStatus.get('Name'), `${container.name}: PID 1`).toBe('tini');
      expect(initStatus.get('NSpid')?.split(/\s+/).at(-1), `${container.name}: tini's PID in the container`).toBe('1');
      const nodeStatus = await status(node);
      const command = (await readFile(`/proc/${node}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      expect(command.slice(0, 3), `${container.name}: tini's child`).toEqual(['node', '/usr/local/bin/portwarden', container === authority ? 'authority' : 'sidecar']);
      expect(
        {
          Uid: nodeStatus.get('Uid'),
          Gid: nodeStatus.get('Gid'),
          Groups: nodeStatus.get('Groups'),
          CapInh: nodeStatus.get('CapInh'),
          CapPrm: nodeStatus.get('CapPrm'),
          CapEff: nodeStatus.get('CapEff'),
          CapBnd: nodeStatus.get('CapBnd'),
          CapAmb: nodeStatus.get('CapAmb'),
          NoNewPrivs: nodeStatus.get('NoNewPrivs'),
          Seccomp: nodeStatus.get('Seccomp'),
        },
        container.name,
      ).toEqual({
        Uid: '1000\t1000\t1000\t1000',
        Gid: '1000\t1000\t1000\t1000',
        // no root group among the supplementary ones (podman adds the user's own, 1000)
        Groups: expect.not.stringMatching(/(^|\s)0(\s|$)/),
        CapInh: '0000000000000000',
        CapPrm: '0000000000000000',
        CapEff: '0000000000000000',
        CapBnd: '0000000000000000',
        CapAmb: '0000000000000000',
        NoNewPrivs: '1',
        // a seccomp filter: the runtime's default profile, as `seccompProfile: RuntimeDefault`
        Seccomp: '2',
      });
    }
  });

  it('has a read-only root file system: only the volume on /var/lib/portwarden is writable', async () => {
    for (const container of [authority, sidecar]) {
      const { node } = await processes(container);
      const seen = await mounts(node);
      expect(seen.get('/'), `${container.name}: the root mount`).toContain('ro');
      expect(seen.get('/etc/portwarden'), `${container.name}: the configuration mount`).toContain('ro');
      expect(seen.get('/var/lib/portwarden'), `${container.name}: the data volume`).toContain('rw');
      expect(await tryWrites(container, ['/app/x', '/tmp/x', '/home/node/x', '/etc/portwarden/x', '/var/lib/portwarden/x'])).toEqual({
        '/app/x': 'EROFS',
        '/tmp/x': 'EROFS',
        '/home/node/x': 'EROFS',
        '/etc/portwarden/x': 'EROFS',
        '/var/lib/portwarden/x': 'ok',
      });
    }
    // what portwarden wrote landed on the volumes, as the image's user
    const db = await stat(join(authorityData(), 'data', 'authority.db'));
    expect({ uid: db.uid, gid: db.gid }).toEqual({ uid: 1000, gid: 1000 });
    const cache = await waitFor(() => stat(join(sidecarData(), 'data', 'cache')).catch(() => undefined), { timeoutMs: 10_000, what: "the sidecar's license cache on its volume" });
    expect(cache.uid).toBe(1000);
  });

  it('admits the licensed caller, refuses another, and counts both in /metrics on the admin listener', async () => {
    expect(await exchange(licensedPort, '127.0.0.1', 'hello through the image\n')).toBe('hello through the image\n');
    expect(await exchange(licensedPort, '127.0.0.2'), 'the caller whose identity the license does not allow').toBe('');
    expect(await exchange(licensedPort, '127.0.0.3'), 'a caller with no identity').toBe('');

    const metrics = await get(`${adminUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(sample(metrics.body, 'portwarden_license_valid', { port: 'api' })).toBe(1);
    expect(sample(metrics.body, 'portwarden_connections_total', { port: 'api', decision: 'allow' })).toBe(1);
    expect(sample(metrics.body, 'portwarden_connections_total', { port: 'api', decision: 'deny', reason: 'identity_not_allowed' })).toBe(1);
    expect(sample(metrics.body, 'portwarden_connections_total', { port: 'api', decision: 'deny', reason: 'no_identity' })).toBe(1);
    // and the authority's, on its API port
    const authorityMetrics = await get(`${authorityUrl}/metrics`);
    expect(authorityMetrics.status).toBe(200);
    expect(authorityMetrics.body).toContain('portwarden_');
  });

  it('drains on SIGTERM: not ready, no new connections, the open one keeps flowing, then exits 0', async () => {
    const open = await openConnection(licensedPort);
    expect(await open.echo('before\n')).toBe('before\n');
    // what the kubelet does: SIGTERM to the container's PID 1
    await podman(['kill', '--signal', 'SIGTERM', sidecar.name]);
    await waitFor(async () => (await get(`${adminUrl}/readyz`)).status === 503, { timeoutMs: 10_000, what: 'the draining sidecar to be not ready' });
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const attempt = connect(licensedPort, '127.0.0.1');
          attempt.once('connect', () => {
            attempt.destroy();
            resolve(false);
          });
          attempt.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
        }),
      { timeoutMs: 10_000, what: 'the licensed port to refuse new connections' },
    );
    expect(await open.echo('during the drain\n')).toBe('during the drain\n');
    expect(sidecar.child.exitCode, 'still running while a connection is open').toBeNull();
    open.socket.end();
    const code = await Promise.race([sidecar.exited, new Promise((resolve) => setTimeout(() => resolve('still running 15s after the last connection closed'), 15_000))]);
    expect(code, sidecar.output()).toBe(0);

    await podman(['kill', '--signal', 'SIGTERM', authority.name]);
    const authorityCode = await Promise.race([authority.exited, new Promise((resolve) => setTimeout(() => resolve('still running 20s after SIGTERM'), 20_000))]);
    expect(authorityCode, authority.output()).toBe(0);
  }, 60_000);
});
