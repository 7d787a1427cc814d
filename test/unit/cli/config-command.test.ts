import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import { tempDir } from '../../helpers/tmp.ts';

async function validate(text: string, ...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(await tempDir(), 'sidecar.yaml');
  await writeFile(file, text);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const code = await main(['config', 'validate', file, ...extra], { env: {}, stdout, stderr, signal: new AbortController().signal });
  return { code, stdout: stdout.read()?.toString() ?? '', stderr: stderr.read()?.toString().replaceAll(file, 'F') ?? '' };
}

const port = (upstream: string, listen = '127.0.0.1:8443') => `service: s\nports:\n  - name: api\n    listen: ${listen}\n    upstream: ${upstream}\n`;

describe('portwarden config validate', () => {
  it('accepts a valid sidecar file', async () => {
    expect((await validate(port('127.0.0.1:8080'))).code).toBe(0);
  });

  it('refuses the unsafe combinations the sidecar refuses at start, naming the line', async () => {
    const remote = await validate(port('10.0.0.5:8080'));
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/^F:5: ports\[0\]\.upstream: "10\.0\.0\.5" is not a loopback address/);
    const reserved = await validate(port('127.0.0.1:8080', '0.0.0.0:443'));
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toMatch(/^F:4: ports\[0\]\.listen: /);
  });

  it('prints one JSON document with --format json', async () => {
    const result = await validate(port('10.0.0.5:8080'), '--format', 'json');
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ valid: false, kind: 'sidecar', issues: [{ line: 5, key: 'ports[0].upstream' }] });
  });
});
