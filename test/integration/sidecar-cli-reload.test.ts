import { readFile, rename, writeFile } from 'node:fs/promises';
import { expect, it, onTestFinished } from 'vitest';
import { FakeAuthority } from '../helpers/fake-authority.ts';
import { connectTo, echo, echoes, startUpstream } from '../helpers/sidecar-harness.ts';
import { sidecarFiles, spawnSidecar, startedAt } from '../helpers/sidecar-cli.ts';
import { LOCAL_IDENTITY } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';

it('reloads on a saved file and on SIGHUP, refuses a bad file and keeps serving the open connection', async () => {
  const authority = await FakeAuthority.start();
  onTestFinished(() => authority.close());
  await authority.issue({ service: 'payments', port: 'api', number: 8443, allow: [LOCAL_IDENTITY] });
  const upstream = await startUpstream(echo);
  const head = ['service: payments', 'admin: { listen: 127.0.0.1:0 }', `identities: [{ cidr: 127.0.0.0/8, identity: "${LOCAL_IDENTITY}" }]`, 'ports:'];
  const api = `  - { name: api, listen: 127.0.0.1:0, upstream: ${upstream.address} }`;
  const web = `  - { name: web, listen: 127.0.0.1:0, upstream: ${upstream.address} }`;
  const { file } = await sidecarFiles({ authorityUrl: authority.url, token: authority.sidecarToken('payments'), body: [...head, api].join('\n') });
  const preamble = (await readFile(file, 'utf8')).split([...head, api].join('\n'))[0] ?? '';
  // save as editors do: write a new file, rename it over the old one
  const save = async (lines: string[]) => {
    await writeFile(`${file}.tmp`, preamble + lines.join('\n'));
    await rename(`${file}.tmp`, file);
  };

  const sidecar = spawnSidecar(file);
  const { address, admin } = await startedAt(sidecar);
  await waitFor(async () => (await fetch(`${admin}/readyz`)).status === 200, { timeoutMs: 15_000, what: 'a license' });
  const open = await connectTo(address);
  expect(await echoes(open, 'before')).toBe(true);

  await save([...head, api, web]);
  const added = await sidecar.waitForLog('configuration reloaded');
  expect(added).toMatchObject({ added: ['web'], removed: [], changed: [] });
  await sidecar.waitForLog('listening', { port: 'web' });

  await save([...head, api.replace('upstream:', 'upstreams:')]);
  const refused = await sidecar.waitForLog('configuration reload refused; the old configuration keeps running');
  expect(refused.issues).toContain(`${file}:13: ports[0]: unknown key "upstreams"`);
  expect(await echoes(open, 'after a refused reload')).toBe(true);

  await writeFile(file, preamble + [...head, api].join('\n')); // no rename: SIGHUP tells it
  sidecar.child.kill('SIGHUP');
  await waitFor(() => sidecar.logs.filter((line) => line.msg === 'configuration reloaded').length === 2, { what: 'the SIGHUP reload' });
  expect(sidecar.logs.filter((line) => line.msg === 'configuration reloaded')[1]).toMatchObject({ removed: ['web'] });
  expect(await echoes(open, 'untouched throughout')).toBe(true);
  const metrics = await (await fetch(`${admin}/metrics`)).text();
  expect(metrics).toMatch(/^portwarden_config_reloads_total\{result="applied"\} 2$/m);
  expect(metrics).toMatch(/^portwarden_config_reloads_total\{result="refused"\} 1$/m);

  open.end();
  sidecar.child.kill('SIGTERM');
  expect(await sidecar.exited).toBe(0);
});
