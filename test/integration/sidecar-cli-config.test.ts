import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { runPortwarden } from '../helpers/cli.ts';

const run = (args: string[]) => runPortwarden(args);

it('refuses a bad configuration with exit 2, naming the file, line and key of every problem', async () => {
  const dir = await tempDir();
  const file = join(dir, 'sidecar.yaml');
  await writeFile(
    file,
    [
      'service: payments',
      'admin: { listen: 127.0.0.1:0 }',
      'ports:',
      '  - name: api',
      '    listen: 127.0.0.1:443',
      '    upstream: 10.20.0.5:8080',
      '    timeouts: { idle: forever }',
    ].join('\n'),
  );
  const result = await run(['sidecar', '--config', file]);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe(''); // nothing started, nothing logged
  expect(result.stderr.trim().split('\n')).toEqual([
    `${file}:5: ports[0].listen: port 443 is reserved (1-1023); set allow_reserved_listen: true to listen on it`,
    `${file}:6: ports[0].upstream: "10.20.0.5" is not a loopback address; set allow_remote_upstream: true to forward off this host`,
    `${file}:7: ports[0].timeouts.idle: must be a duration such as 500ms, 30s, 15m, 24h or 30d`,
  ]);
});

it('prints usage for --help and refuses a missing --config with exit 2', async () => {
  const help = await run(['sidecar', '--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Usage: portwarden sidecar --config FILE');
  const missing = await run(['sidecar']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('--config is required');
});
