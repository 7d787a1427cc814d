import { execFile } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

/** What a finished CLI run printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the portwarden CLI as users do (`bin/portwarden.js` on the pinned Node.js) to the end,
 * from the repository root, with only `PATH` and `env` in its environment.
 */
export function runPortwarden(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(join(root, 'node_modules/.bin/node'), ['bin/portwarden.js', ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}
