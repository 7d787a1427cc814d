import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../../../src/cli/main.ts';

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        append(chunk.toString());
        callback();
      },
    });
  const code = await main(argv, {
    env: { PORTWARDEN_AUTHORITY: 'http://127.0.0.1:9' },
    stdout: sink((text) => (stdout += text)),
    stderr: sink((text) => (stderr += text)),
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

describe('authority commands', () => {
  it('print --help, for the command and for a subcommand', async () => {
    for (const argv of [['authority', '--help'], ['licenses', '--help'], ['licenses', 'issue', '--help'], ['tokens', '--help'], ['keys', '--help'], ['audit', '--help']]) {
      const { code, stdout } = await cli(argv);
      expect([argv.join(' '), code]).toEqual([argv.join(' '), 0]);
      expect(stdout).toContain(`Usage: portwarden ${argv[0]}`);
    }
  });

  it('refuse bad usage with exit 2 before calling the authority', async () => {
    const cases = [
      ['licenses'],
      ['licenses', 'frobnicate'],
      ['licenses', 'show'],
      ['licenses', 'issue', '--service', 's', '--port', 'p', '--number', '99999', '--allow', 'x'],
      ['licenses', 'list', '--format', 'yaml'],
      ['tokens', 'create', '--role', 'root'],
      ['tokens', 'create', '--role', 'sidecar'],
      ['keys', 'rotate', 'now'],
      ['audit', '--bogus'],
    ];
    for (const argv of cases) expect([argv.join(' '), (await cli(argv)).code]).toEqual([argv.join(' '), 2]);
  });

  it('reports an unreachable authority with exit 1', async () => {
    const { code, stderr } = await cli(['licenses', 'list']);
    expect(code).toBe(1);
    expect(stderr).toContain('authority_unreachable');
  });
});
