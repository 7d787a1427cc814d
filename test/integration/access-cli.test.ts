import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { issueBody, startTestAuthority, testAdminToken, type TestAuthority } from '../helpers/authority.ts';

async function cli(t: TestAuthority, argv: string[]) {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        append(chunk.toString());
        callback();
      },
    });
  const env = { PORTWARDEN_AUTHORITY: t.url, PORTWARDEN_TOKEN: testAdminToken };
  const code = await main(argv, { env, stdout: sink((text) => (stdout += text)), stderr: sink((text) => (stderr += text)), signal: new AbortController().signal });
  return { code, stdout, stderr };
}

it('licenses show and ports show list the callers; ports list --unregistered lists stray listeners', async () => {
  const t = await startTestAuthority();
  await t.api('POST', '/v1/ports', { body: { service: 'payments', name: 'api', env: 'prod', number: 24_200 } });
  const license = (await t.api('POST', '/v1/licenses', { body: issueBody({ port: { number: 24_200, protocol: 'tcp' } }) })).body;
  const at = new Date(t.clock.now()).toISOString();
  const records = [
    { port: 'api', identity: 'spiffe://corp/sa/a', origin: '10.0.0.1', count: 3, bytes_in: 30, bytes_out: 300, first_access: at, last_access: at, decision: 'allow', reason: null },
    { port: 'api', identity: null, origin: '10.0.0.2', count: 1, bytes_in: 0, bytes_out: 0, first_access: at, last_access: at, decision: 'deny', reason: 'no_identity' },
  ];
  await t.api('POST', '/v1/telemetry', { body: { batch_id: 'b-1', service: 'payments', records } });

  const shown = await cli(t, ['licenses', 'show', license.lid]);
  expect(shown.code).toBe(0);
  const table = shown.stdout.split('\n');
  const header = table.findIndex((line) => line.startsWith('IDENTITY'));
  expect(table[header]?.split(/\s{2,}/)).toEqual(['IDENTITY', 'ORIGIN', 'CONNECTIONS', 'BYTES_IN', 'BYTES_OUT', 'FIRST_ACCESS', 'LAST_ACCESS', 'LAST_DECISION']);
  expect(table.slice(header + 1, header + 3).map((line) => line.split(/\s{2,}/))).toEqual(
    expect.arrayContaining([
      ['spiffe://corp/sa/a', '10.0.0.1', '3', '30', '300', at, at, 'allow'],
      ['-', '10.0.0.2', '1', '0', '0', at, at, 'deny (no_identity)'],
    ]),
  );
  const licenseJson = JSON.parse((await cli(t, ['licenses', 'show', license.lid, '--format', 'json'])).stdout);
  expect(licenseJson.access).toHaveLength(2);

  const port = await cli(t, ['ports', 'show', 'payments/api', '--env', 'prod']);
  expect(port.code).toBe(0);
  expect(port.stdout).toMatch(/spiffe:\/\/corp\/sa\/a\s+10\.0\.0\.1\s+3\s+30\s+300/);
  const portJson = JSON.parse((await cli(t, ['ports', 'show', 'payments/api', '--env', 'prod', '--format', 'json'])).stdout);
  expect(portJson).toMatchObject({ service: 'payments', name: 'api', env: 'prod' });
  expect(portJson.access.map((c: { origin: string }) => c.origin).sort()).toEqual(['10.0.0.1', '10.0.0.2']);

  expect((await cli(t, ['ports', 'list', '--unregistered'])).stdout).toBe('no unregistered listeners\n');
  await t.api('POST', '/v1/inventory', {
    body: { service: 'payments', listeners: [{ protocol: 'tcp', address: '0.0.0.0', port: 24_200 }, { protocol: 'tcp', address: '0.0.0.0', port: 24_201 }] },
  });
  const stray = await cli(t, ['ports', 'list', '--unregistered']);
  expect(stray.code).toBe(0);
  expect(stray.stdout.split('\n').map((line) => line.split(/\s{2,}/))).toEqual([
    ['SERVICE', 'PROTO', 'ADDRESS', 'PORT', 'REPORTED'],
    ['payments', 'tcp', '0.0.0.0', '24201', expect.any(String)],
    [''],
  ]);
  const strayJson = JSON.parse((await cli(t, ['ports', 'list', '--unregistered', '--service', 'payments', '--format', 'json'])).stdout);
  expect(strayJson.unregistered.map((l: { port: number }) => l.port)).toEqual([24_201]);
});
