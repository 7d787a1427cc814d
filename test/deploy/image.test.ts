import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDockerfile, type Instruction } from './dockerfile.ts';
import { httpOverTcp, startUp } from './up.ts';

/**
 * The image's install and start steps, without a Docker engine: copy what the Dockerfile
 * copies into a clean directory, install the production dependencies the way it does, and
 * run `portwarden` through the same symlink, from the same kind of working directory, on
 * Node.js 24 (vitest runs on the project's Node 24, `process.execPath`).
 * It runs everywhere, without root or a container engine. The image itself, built from the
 * Dockerfile and run locked down, is image-run.test.ts (where podman and buildah are
 * installed, and always in CI); docs/deploy.md says what each proves.
 */

const run = promisify(execFile);
const dockerfile = parseDockerfile(await readFile('Dockerfile', 'utf8'));
const finalStage = dockerfile.stages.at(-1);
const devDependencies = Object.keys((JSON.parse(await readFile('package.json', 'utf8')) as { devDependencies: Record<string, string> }).devDependencies);

let root = '';
let app = '';
let work = '';
let env: NodeJS.ProcessEnv = {};

/** Runs the image's `portwarden` (the symlink on PATH) in its working directory. */
async function portwarden(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('portwarden', args, { cwd: work, env, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('the Dockerfile', () => {
  it('runs on a Node.js 24 slim base, as a numeric non-root user, with tini as init and an exec-form entrypoint', () => {
    expect(dockerfile.stages.length, 'a multi-stage build').toBeGreaterThanOrEqual(2);
    expect(finalStage?.image).toMatch(/^node:24(\.\d+)*-[a-z]+-slim$/);
    const user = finalStage?.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args ?? '';
    const uid = Number(user.split(':')[0]);
    expect(Number.isInteger(uid) && uid > 0, `USER ${user} must be a non-zero number for runAsNonRoot`).toBe(true);
    expect(json(finalStage, 'ENTRYPOINT')).toEqual(['/usr/bin/tini', '--', 'portwarden']);
    expect(json(finalStage, 'CMD')).toEqual(['sidecar', '--config', '/etc/portwarden/sidecar.yaml']);
    expect(finalStage?.instructions.some((i) => i.keyword === 'RUN' && /apt-get install[^&]*\btini\b/.test(i.args))).toBe(true);
  });

  it('installs production dependencies only, and the build context holds nothing but what it copies', async () => {
    const install = dockerfile.stages.flatMap((stage) => stage.instructions).find((i) => i.keyword === 'RUN' && i.args.includes('npm ci'));
    expect(install?.args).toMatch(/--omit=dev/);
    expect(install?.args).toMatch(/--ignore-scripts/);
    const ignore = (await readFile('.dockerignore', 'utf8')).split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
    expect(ignore[0], '.dockerignore excludes everything first').toBe('*');
    const included = ignore.filter((line) => line.startsWith('!')).map((line) => line.slice(1).replace(/\/$/, ''));
    expect(new Set(included)).toEqual(new Set(copiedSources()));
  });
});

describe('the image, installed and started without a Docker engine', () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'portwarden-image-'));
    app = join(root, 'app');
    work = join(root, 'var-lib-portwarden');
    const binDir = join(root, 'usr-local-bin');
    await Promise.all([mkdir(app), mkdir(work), mkdir(binDir)]);
    for (const source of copiedSources()) await cp(source, join(app, source), { recursive: true });
    // npm itself runs on Node 24 too, as in the image
    const path = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
    const flags = (installCommand().match(/--[a-z-]+(=\S+)?/g) ?? []).filter((flag) => flag !== '--prefer-offline');
    // without the npm_* variables of an enclosing `npm test`, which could point npm elsewhere
    const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
    await run('npm', ['ci', ...flags, '--prefer-offline'], { cwd: app, env: { ...npmEnv, PATH: path }, timeout: 90_000 });
    // RUN ln -s /app/bin/portwarden.js /usr/local/bin/portwarden
    await symlink(join(app, 'bin', 'portwarden.js'), join(binDir, 'portwarden'));
    // what the container has: its PATH (node, portwarden) and NODE_ENV, nothing of this machine's environment
    env = { PATH: `${binDir}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: work, NODE_ENV: 'production' };
    return () => rm(root, { recursive: true, force: true });
  }, 120_000);

  it('holds the production dependencies and none of the development ones', async () => {
    const installed = new Set(await readdir(join(app, 'node_modules')));
    for (const name of ['jose', 'pino', 'prom-client', 'undici', 'yaml', 'zod']) expect(installed.has(name), name).toBe(true);
    for (const name of devDependencies) expect(installed.has(name.split('/')[0] ?? name), `${name} is a devDependency`).toBe(false);
  });

  it('answers `portwarden --help` through the entrypoint symlink', async () => {
    const result = await portwarden(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: portwarden <command>/);
    for (const command of ['sidecar', 'authority', 'config', 'check']) expect(result.stdout).toContain(`  ${command}`);
  });

  it('loads every command with production dependencies only (`--help` of each)', async () => {
    const commands = (await portwarden(['--help'])).stdout.split('\n').map((line) => /^ {2}([a-z]+)\s/.exec(line)?.[1]).filter((name): name is string => name !== undefined);
    expect(commands.length).toBeGreaterThan(5);
    // two at a time: the suite shares two cores with other tests that spawn processes
    const results: { command: string; code: number; stderr: string }[] = [];
    const queue = [...commands];
    const worker = async () => {
      for (let command = queue.shift(); command !== undefined; command = queue.shift()) results.push({ command, ...(await portwarden([command, '--help'])) });
    };
    await Promise.all([worker(), worker()]);
    for (const { command, code, stderr } of results) expect({ command, code, stderr }).toEqual({ command, code: 0, stderr: '' });
  });

  it('validates the example sidecar and authority configurations it ships', async () => {
    const sidecar = await portwarden(['config', 'validate', join(app, 'config', 'sidecar.example.yaml')]);
    expect(sidecar).toMatchObject({ code: 0, stdout: expect.stringContaining('valid sidecar configuration') });
    const authority = await portwarden(['config', 'validate', join(app, 'config', 'authority.example.yaml')]);
    expect(authority).toMatchObject({ code: 0, stdout: expect.stringContaining('valid authority configuration') });
  });

  it('runs authority, sidecar and upstream (`portwarden up`), proxies a licensed request, and exits 0 on SIGTERM', async () => {
    const up = await startUp({ command: 'portwarden', cwd: work, env, dataDir: join(work, 'data') });
    try {
      const answer = await httpOverTcp(up.port);
      expect(answer).toMatch(/^HTTP\/1\.1 200/);
      expect(answer).toContain('hello from the demo upstream');
    } finally {
      expect(await up.stop(), up.output()).toBe(0);
    }
  });
});

function json(stage: { instructions: Instruction[] } | undefined, keyword: string): unknown {
  const args = stage?.instructions.filter((i) => i.keyword === keyword).at(-1)?.args ?? 'null';
  return JSON.parse(args);
}

/** What the Dockerfile copies from the build context (COPY without --from), in any stage. */
function copiedSources(): string[] {
  const sources = dockerfile.stages
    .flatMap((stage) => stage.instructions)
    .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  return [...new Set(sources)].sort();
}

function installCommand(): string {
  return dockerfile.stages.flatMap((stage) => stage.instructions).find((i) => i.keyword === 'RUN' && i.args.includes('npm ci'))?.args ?? '';
}
