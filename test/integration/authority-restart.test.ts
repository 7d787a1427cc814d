import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { issueBody, startTestAuthority } from '../helpers/authority.ts';
import { tempDir } from '../helpers/tmp.ts';

it('keeps keys, licenses, tokens, audit and the change index across a restart', async () => {
  const dataDir = await tempDir();
  const first = await startTestAuthority({ dataDir, adminToken: null });
  const tokenFile = join(dataDir, 'admin.token');
  expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  const admin = readFileSync(tokenFile, 'utf8').trim();
  // the log says where the token is, never what it is
  expect(first.logs.some((line) => line.admin_token_file === tokenFile)).toBe(true);
  expect(JSON.stringify(first.logs)).not.toContain(admin.split('.')[2]);

  const kept = (await first.api('POST', '/v1/licenses', { body: issueBody(), token: admin })).body;
  const revoked = (await first.api('POST', '/v1/licenses', { body: issueBody({ port_name: 'metrics' }), token: admin })).body;
  await first.api('POST', `/v1/licenses/${revoked.lid}/revoke`, { token: admin });
  const sidecar = (await first.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' }, token: admin })).body.token;
  const oldKid = kept.kid;
  await first.api('POST', '/v1/keys/rotate', { token: admin });
  const before = await first.api('GET', '/v1/licenses?service=payments', { token: admin });
  const auditBefore = (await first.api('GET', '/v1/audit', { token: admin })).body.entries;
  await first.authority.close();

  const second = await startTestAuthority({ dataDir, adminToken: null, clock: first.clock });
  expect(readFileSync(tokenFile, 'utf8').trim()).toBe(admin); // not rewritten
  const after = await second.api('GET', '/v1/licenses?service=payments', { token: sidecar });
  expect(after.status).toBe(200);
  expect(after.body.licenses.map((l: { lid: string }) => l.lid)).toEqual([kept.lid]);
  expect(after.body.licenses[0].token).toBe(kept.token);
  expect(after.body.index).toBe(before.body.index);
  expect((await second.api('GET', '/v1/licenses?service=payments&index=0', { token: admin })).body.revoked).toEqual([revoked.lid]);

  const jwks = (await second.api('GET', '/.well-known/jwks.json', { token: null })).body.keys.map((k: { kid: string }) => k.kid);
  expect(jwks).toHaveLength(2);
  expect(jwks).toContain(oldKid);
  const auditAfter = (await second.api('GET', '/v1/audit', { token: admin })).body.entries;
  expect(auditAfter).toEqual(auditBefore);

  const next = (await second.api('POST', '/v1/licenses', { body: issueBody({ port_name: 'grpc' }), token: admin })).body;
  expect(next.modify_index).toBe(before.body.index + 1);
  expect(next.kid).not.toBe(oldKid);
});

it('warns at start when its data directory already existed open to other users, and not when it is private', async () => {
  const shared = await tempDir();
  chmodSync(shared, 0o755);
  const loose = await startTestAuthority({ dataDir: shared });
  expect(loose.logs).toContainEqual(expect.objectContaining({ level: 'warn', data_dir: shared, mode: '0755', msg: 'data_dir is accessible to other users; chmod 700 it' }));
  const tight = await startTestAuthority();
  expect(tight.logs.some((line) => line.msg === 'data_dir is accessible to other users; chmod 700 it')).toBe(false);
});
