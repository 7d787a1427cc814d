import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { expect, it, onTestFinished } from 'vitest';
import { FakeAuthority } from '../helpers/fake-authority.ts';
import { connectTo, echo, echoes, readAll, startUpstream } from '../helpers/sidecar-harness.ts';
import { onePortBody, sidecarFiles, spawnSidecar, startedAt } from '../helpers/sidecar-cli.ts';
import { LOCAL_IDENTITY } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';

it('refuses callers while out of descriptors, stays up, and serves again once they are free', async () => {
  const authority = await FakeAuthority.start();
  onTestFinished(() => authority.close());
  await authority.issue({ service: 'payments', port: 'api', number: 8443, allow: [LOCAL_IDENTITY] });
  const upstream = await startUpstream(echo);
  const { file } = await sidecarFiles({
    authorityUrl: authority.url,
    token: authority.sidecarToken('payments'),
    telemetry: ['  report_interval: 1h'], // no reporting connections while descriptors are counted
    body: onePortBody(upstream.address),
  });
  const sidecar = spawnSidecar(file);
  const { address, admin } = await startedAt(sidecar);
  await waitFor(async () => (await fetch(`${admin}/readyz`)).status === 200, { timeoutMs: 15_000, what: 'a license' });

  // no descriptor to spare: callers cannot be served, but the sidecar must not fall over
  const pid = sidecar.child.pid as number;
  const open = readdirSync(`/proc/${pid}/fd`).length;
  const soft = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1] ?? '1024';
  expect(spawnSync('prlimit', ['--pid', String(pid), `--nofile=${open}:`]).status).toBe(0);
  const clients = await Promise.all(Array.from({ length: 4 }, () => connectTo(address)));
  const outcomes = await Promise.all(
    clients.map((client) => Promise.race([echoes(client, 'x').then(() => 'served'), readAll(client).then(() => 'refused')])),
  );
  expect(outcomes).toContain('refused');
  for (const client of clients) client.destroy();
  expect(sidecar.child.exitCode).toBeNull();

  expect(spawnSync('prlimit', ['--pid', String(pid), `--nofile=${soft}:`]).status).toBe(0);
  const after = await connectTo(address);
  expect(await echoes(after, 'back')).toBe(true);
  expect((await fetch(`${admin}/readyz`)).status).toBe(200);

  sidecar.child.kill('SIGTERM');
  after.end();
  expect(await sidecar.exited).toBe(0);
});
