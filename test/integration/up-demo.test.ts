import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePorts } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';

const node = 'node_modules/.bin/node';
const bin = 'bin/portwarden.js';

async function get(port: number): Promise<string> {
  const { body } = await request(`http://127.0.0.1:${port}/`, { reset: true });
  return body.text();
}

describe('npm start (portwarden up)', () => {
  it('goes from start to a licensed curl, then to a refused one after the printed revoke, and stops on SIGTERM', async () => {
    const dataDir = await tempDir();
    const [authorityPort = 0, listenPort = 0, adminPort = 0] = await freePorts(3);
    // the README's quick start, as a newcomer types it (only the ports and data dir moved)
    const child = spawn('npm', ['start', '--', '--data', dataDir, '--port', String(listenPort), '--admin-port', String(adminPort)], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORTWARDEN_LISTEN: `127.0.0.1:${authorityPort}` },
    });
    onTestFinished(() => void child.kill('SIGKILL'));
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));

    await waitFor(() => stdout.includes('Ctrl-C stops everything'), { timeoutMs: 20_000, what: 'the banner' });
    expect(stdout).toContain(`curl -s http://127.0.0.1:${listenPort}/`);
    // the README's quick start shows this banner as it is, with the default ports and data dir
    const lid = /licenses revoke (\S+)/.exec(stdout)?.[1];
    expect(lid).toMatch(/^lic_/);
    const banner = stdout.slice(stdout.indexOf('portwarden is up'), stdout.indexOf('Ctrl-C stops everything'));
    const asDocumented = banner
      .replaceAll(`127.0.0.1:${authorityPort}`, '127.0.0.1:7400')
      .replaceAll(`127.0.0.1:${listenPort}`, '127.0.0.1:8443')
      .replaceAll(`127.0.0.1:${adminPort}`, '127.0.0.1:9901')
      .replaceAll(dataDir, 'data')
      .replaceAll(lid!, 'lic_…');
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain(`\`\`\`text\n${asDocumented}Ctrl-C stops everything`);
    // the console it names answers there
    const consolePage = await request(`http://127.0.0.1:${authorityPort}/ui/`);
    expect([consolePage.statusCode, (await consolePage.body.text()).includes('/ui/app.js')]).toEqual([200, true]);
    expect(await get(listenPort)).toBe('hello from the demo upstream: GET /\n');

    const token = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
    await promisify(execFile)(node, [bin, 'licenses', 'revoke', lid!, '--authority', `http://127.0.0.1:${authorityPort}`], {
      env: { PATH: process.env.PATH ?? '', PORTWARDEN_TOKEN: token },
    });
    await waitFor(async () => (await get(listenPort).then(() => false, () => true)), { what: 'the revoked port to refuse' });
    const { body } = await request(`http://127.0.0.1:${adminPort}/metrics`);
    expect(await body.text()).toMatch(/portwarden_connections_total\{port="http",decision="deny",reason="revoked"\} [1-9]/);

    // npm's script execs portwarden, so a signal to `npm start` reaches it and nothing is left running
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await waitFor(async () => (await get(listenPort).then(() => false, () => true)) && (await get(adminPort).then(() => false, () => true)), {
      what: 'every listener of `npm start` to be gone',
    });
  });
});
