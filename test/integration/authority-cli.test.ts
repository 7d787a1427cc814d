import { expect, it } from 'vitest';
import { spawnAuthority } from '../helpers/authority-process.ts';
import { runPortwarden } from '../helpers/cli.ts';


const run = (args: string[], env: Record<string, string>) => runPortwarden(args, env);

it('runs the authority and drives it with tokens, licenses issue/list/revoke --format json, with exit codes', async () => {
  const authority = await spawnAuthority();
  const { url, adminToken: admin } = authority;
  const env = { PORTWARDEN_AUTHORITY: url, PORTWARDEN_TOKEN: admin };

  const sidecar = await run(['tokens', 'create', '--role', 'sidecar', '--service', 'payments'], env);
  expect(sidecar.code).toBe(0);
  expect(sidecar.stdout).toMatch(/^pw\.[0-9a-f]{16}\.[\w-]{43}\n$/);

  const issued = await run(
    ['licenses', 'issue', '--service', 'payments', '--port', 'api', '--number', '8443', '--allow', 'spiffe://corp/ns/billing/sa/api', 'spiffe://corp/ns/ops/*', '--ttl', '2h', '--env', 'prod', '--format', 'json'],
    env,
  );
  expect(issued.code).toBe(0);
  const license = JSON.parse(issued.stdout) as { lid: string; sub: string; allow: string[]; token: string; state: string };
  expect(license).toMatchObject({ sub: 'payments/api', allow: ['spiffe://corp/ns/billing/sa/api', 'spiffe://corp/ns/ops/*'], state: 'active' });

  // the sidecar token reads its own licenses through the CLI too
  const listed = await run(['licenses', 'list', '--service', 'payments', '--format', 'json'], { ...env, PORTWARDEN_TOKEN: sidecar.stdout.trim() });
  expect(listed.code).toBe(0);
  expect((JSON.parse(listed.stdout) as { licenses: { lid: string }[] }).licenses.map((l) => l.lid)).toEqual([license.lid]);
  const forbidden = await run(['licenses', 'list', '--service', 'orders'], { ...env, PORTWARDEN_TOKEN: sidecar.stdout.trim() });
  expect(forbidden.code).toBe(1);
  expect(forbidden.stderr).toContain('forbidden');

  const revoked = await run(['licenses', 'revoke', license.lid, '--format', 'json'], env);
  expect(revoked.code).toBe(0);
  expect(JSON.parse(revoked.stdout)).toMatchObject({ lid: license.lid, state: 'revoked' });
  const again = await run(['licenses', 'revoke', license.lid], env);
  expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('conflict')]);

  const rejected = await run(['licenses', 'issue', '--service', 'Payments!', '--port', 'api', '--number', '1', '--allow', 'x'], env);
  expect([rejected.code, rejected.stderr]).toEqual([2, expect.stringContaining('bad_request: service:')]);
  const noToken = await run(['licenses', 'list'], { PORTWARDEN_AUTHORITY: url });
  expect([noToken.code, noToken.stderr]).toEqual([1, expect.stringContaining('unauthenticated')]);

  authority.child.kill('SIGTERM');
  expect(await authority.exited).toBe(0);
  expect(authority.log()).toContain('"authority stopped"');
  expect(authority.log()).not.toContain(admin);
});
