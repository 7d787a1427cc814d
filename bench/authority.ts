import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { startProgram, type BenchProcess } from './child.ts';
import { freePort } from './fronts.ts';

const bin = join(import.meta.dirname, '..', 'bin', 'portwarden.js');
export const adminToken = 'bench-admin-token-0123456789abcdef';

/** A real `portwarden authority` process for the bench, and a small admin API client. */
export interface BenchAuthority {
  url: string;
  process: BenchProcess;
  call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
}

/** Starts one; `env` adds `PORTWARDEN_*` overrides (limits, a shared store's `PORTWARDEN_STORAGE_URL`). */
export async function startAuthority(workDir: string, env: NodeJS.ProcessEnv = {}): Promise<BenchAuthority> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = join(workDir, `authority-${port}`);
  mkdirSync(dataDir, { recursive: true });
  const process = await startProgram(globalThis.process.execPath, [bin, 'authority'], () => ok(`${url}/readyz`), {
    PORTWARDEN_LISTEN: `127.0.0.1:${port}`,
    PORTWARDEN_DATA_DIR: dataDir,
    PORTWARDEN_ADMIN_TOKEN: adminToken,
    PORTWARDEN_LOG_LEVEL: 'warn',
    ...env,
  });
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const answer = await request(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await answer.body.json()) as T;
    if (answer.statusCode >= 300) throw new Error(`${method} ${path}: ${answer.statusCode} ${JSON.stringify(json)}`);
    return json;
  };
  return { url, process, call };
}

/** True once `url` answers 200. */
export async function ok(url: string): Promise<boolean> {
  try {
    const { statusCode, body } = await request(url);
    await body.dump();
    return statusCode === 200;
  } catch {
    return false;
  }
}
