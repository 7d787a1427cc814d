import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { expect, it, onTestFinished } from 'vitest';
import { issueBody, testAdminToken, type TestAuthority } from '../helpers/authority.ts';
import { startDrillAuthority } from '../helpers/drill-harness.ts';
import { waitFor } from '../helpers/wait.ts';

const node = 'node_modules/.bin/node';
const bin = 'bin/portwarden.js';

interface Cli {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function cli(authority: TestAuthority, args: string[]): Cli {
  const child = spawn(node, [bin, 'drill', ...args], {
    env: { PATH: process.env.PATH ?? '', PORTWARDEN_AUTHORITY: authority.url, PORTWARDEN_TOKEN: testAdminToken },
  });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function run(authority: TestAuthority, args: string[]) {
  const started = cli(authority, args);
  const code = await started.exited;
  return { code, stdout: started.stdout(), stderr: started.stderr() };
}

it('drill --no-wait returns the id; status, list and stop drive it; usage errors exit 2', async () => {
  const authority = await startDrillAuthority();
  const issued = (await authority.api('POST', '/v1/licenses', { body: issueBody() })).body;

  const [started, noPort, badFor, none, help] = await Promise.all([
    run(authority, ['revoke', '--service', 'payments', '--port', 'api', '--for', '5m', '--no-wait', '--format', 'json']),
    run(authority, ['revoke', '--service', 'payments', '--for', '5m']),
    run(authority, ['outage', '--service', 'payments', '--for', 'a while']),
    run(authority, []),
    run(authority, ['--help']),
  ]);
  expect(started.code).toBe(0);
  const drill = JSON.parse(started.stdout);
  expect(drill).toMatchObject({ kind: 'revoke', service: 'payments', port: 'api', state: 'active', changes: { revoked: [issued.lid] } });
  expect(started.stderr).toContain(`drill ${drill.id} started: revoke payments/api until ${drill.ends_at}; revoked ${issued.lid}`);
  expect([noPort.code, noPort.stderr]).toEqual([2, expect.stringContaining('usage: --port is required for a revoke drill')]);
  expect([badFor.code, badFor.stderr]).toEqual([2, expect.stringContaining('usage: --for must be a duration')]);
  expect(none.code).toBe(2);
  expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('Usage: portwarden drill <kind>')]);

  const [status, list, clash] = await Promise.all([
    run(authority, ['status', drill.id, '--format', 'json']),
    run(authority, ['list', '--active']),
    run(authority, ['revoke', '--service', 'payments', '--port', 'api', '--for', '1m', '--no-wait']),
  ]);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ id: drill.id, state: 'active', telemetry: { connections: 0 } });
  expect([list.code, list.stdout]).toEqual([0, expect.stringMatching(new RegExp(`${drill.id}\\s+revoke\\s+payments/api\\s+active`))]);
  expect([clash.code, clash.stderr]).toEqual([1, expect.stringContaining('conflict')]);

  const stopped = await run(authority, ['stop', drill.id]);
  expect(stopped.code).toBe(0);
  const replacement = (await authority.api('GET', `/v1/drills/${drill.id}`)).body.changes.restored[0].lid;
  expect(stopped.stdout).toContain(`drill ${drill.id}: revoke payments/api, restored`);
  expect(stopped.stdout).toContain(`restored   ${issued.lid} -> ${replacement} (reissued`);
  const again = await run(authority, ['stop', drill.id, '--format', 'json']);
  expect([again.code, again.stderr]).toEqual([1, expect.stringContaining(`conflict: drill ${drill.id} was already restored`)]);
});

it('drill waits for the window with progress on stderr, then prints the restored drill; Ctrl-C stops it early', async () => {
  const authority = await startDrillAuthority();
  const issued = (await authority.api('POST', '/v1/licenses', { body: issueBody() })).body;
  authority.clock.advance(1_000);

  const outage = cli(authority, ['outage', '--service', 'orders', '--for', '5m', '--format', 'json']);
  const expire = cli(authority, ['expire', '--service', 'payments', '--port', 'api', '--for', '10m']);
  await waitFor(() => outage.stderr().includes('started: outage orders') && expire.stderr().includes('started: expire payments/api'), {
    timeoutMs: 15_000,
    what: 'both drills to start',
  });

  // Ctrl-C ends the expire drill now, and it still prints what happened
  expire.child.kill('SIGINT');
  expect(await expire.exited).toBe(0);
  expect(expire.stderr()).toContain('interrupted; stopping it and restoring now');
  expect(expire.stdout()).toContain(`restored   ${issued.lid} (renewed`);
  expect(expire.stdout()).toContain('by env-admin');

  // the outage's window runs out on the authority's clock; the sweeper restores it
  authority.clock.advance(60_000);
  await waitFor(() => outage.stderr().includes('4m left'), { what: 'a progress line' });
  authority.clock.advance(240_000);
  expect(await outage.exited).toBe(0);
  expect(outage.stderr()).toContain('restored (window over)');
  expect(JSON.parse(outage.stdout())).toMatchObject({ kind: 'outage', state: 'restored', restored_by: 'system', telemetry: { connections: 0 } });
});
