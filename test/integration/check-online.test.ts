import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startTestAuthority, testAdminToken } from '../helpers/authority.ts';
import { tempDir } from '../helpers/tmp.ts';
import { runPortwarden } from '../helpers/cli.ts';


const portwarden = (env: Record<string, string>, ...args: string[]) => runPortwarden(args, env);

/** A sidecar configuration listening on `number`. */
async function sidecarFile(service: string, number: number): Promise<string> {
  const file = join(await tempDir(), `${service}.yaml`);
  await writeFile(file, `service: ${service}\nports:\n  - name: api\n    listen: 0.0.0.0:${number}\n    upstream: 127.0.0.1:8080\n`);
  return file;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

it('checks against the register the authority holds now, without a snapshot file', async () => {
  const t = await startTestAuthority();
  const payments = (await t.api('POST', '/v1/ports', { body: { service: 'payments', name: 'api', env: 'prod' } })).body;
  const token = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'orders' } })).body.token;
  const env = { PORTWARDEN_AUTHORITY: t.url, PORTWARDEN_TOKEN: token };

  const clean = await portwarden(env, 'check', await sidecarFile('payments', payments.number), '--env', 'prod');
  expect(clean).toEqual({ code: 0, stdout: '', stderr: `no findings in 1 port from 1 file (env prod, register ${t.url})\n` });

  const file = await sidecarFile('orders', payments.number);
  const conflict = await portwarden(env, 'check', file, '--env', 'prod');
  expect(conflict.code).toBe(1);
  expect(conflict.stdout).toBe(`${file}:4: port_conflict: listen port ${payments.number}/tcp is registered to payments/api in prod\n`);

  // a pipeline that forgets --env is refused, not passed on env default where nothing is registered
  const forgot = await portwarden(env, 'check', file);
  expect(forgot).toEqual({
    code: 2,
    stdout: '',
    stderr: `${t.url}: holds ports in env prod: pass --env with the one these inputs deploy to; nothing was checked\n`,
  });

  // a change at the authority is seen by the next check: no export step in between
  await t.api('POST', `/v1/ports/${payments.id}/release`, { body: {} });
  const cooling = await portwarden(env, 'check', file, '--env', 'prod', '--format', 'json');
  expect(cooling.code).toBe(1);
  expect(JSON.parse(cooling.stdout)).toMatchObject({ register: t.url, findings: [{ rule: 'cooling_down' }] });

  // --offline keeps the policy-only check
  const offline = await portwarden(env, 'check', file, '--env', 'prod', '--offline');
  expect(offline).toEqual({ code: 0, stdout: '', stderr: 'no findings in 1 port from 1 file (env prod, no register: policy defaults)\n' });
});

it('exits 2 and says so when the register cannot be read from the authority', async () => {
  const file = await sidecarFile('orders', 20001);
  const down = `http://127.0.0.1:${await closedPort()}`;
  const unreachable = await portwarden({ PORTWARDEN_AUTHORITY: down, PORTWARDEN_TOKEN: testAdminToken }, 'check', file);
  expect(unreachable).toEqual({
    code: 2,
    stdout: '',
    stderr: `${down}: cannot read the register from the authority (authority_unreachable: cannot reach the authority at ${down} (ECONNREFUSED)); pass --register FILE to check against a snapshot, or --offline to check against the policy defaults only\n`,
  });
  const json = await portwarden({ PORTWARDEN_TOKEN: testAdminToken }, 'check', file, '--authority', down, '--format', 'json');
  expect(json.code).toBe(2);
  expect(JSON.parse(json.stdout)).toMatchObject({ register: down, findings: [], errors: [{ file: down, line: 0 }] });

  const t = await startTestAuthority();
  const noToken = await portwarden({ PORTWARDEN_AUTHORITY: t.url }, 'check', file);
  expect(noToken.code).toBe(2);
  expect(noToken.stderr).toContain('cannot read the register from the authority (unauthenticated: a valid bearer token is required (set PORTWARDEN_TOKEN))');

  const both = await portwarden({}, 'check', file, '--register', file, '--offline');
  expect([both.code, both.stderr]).toEqual([2, 'portwarden check: usage: --register reads a snapshot: it does not go with --offline or --authority\n']);
});
