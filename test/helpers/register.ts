import type { ApiAnswer, TestAuthority } from './authority.ts';

/** `POST /v1/ports` with a minimal body; `fields` override it. */
export function requestPort(t: TestAuthority, fields: Record<string, unknown> = {}): Promise<ApiAnswer> {
  return t.api('POST', '/v1/ports', { body: { service: 'payments', name: 'api', ...fields } });
}

/** The path of a port action by service/name (the slash URL-encoded), with its env. */
export function portPath(ref: string, action = '', env?: string): string {
  const suffix = action ? `/${action}` : '';
  return `/v1/ports/${encodeURIComponent(ref)}${suffix}${env ? `?env=${env}` : ''}`;
}

/** Audit entries of an action, oldest first. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function auditOf(t: TestAuthority, action: string): Promise<any[]> {
  return (await t.api('GET', `/v1/audit?action=${action}`)).body.entries;
}
