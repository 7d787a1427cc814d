import { PortwardenError } from '../../shared/errors.ts';
import type { PortRow } from '../store/ports.ts';
import type { Protocol } from '../../register/port-record.ts';
import type { StoreTx } from '../store/store.ts';
import { defaultEnv } from '../../register/port-record.ts';

/** How the API and the CLI name a port: its id, or `service/name` in an env (and protocol). */
export type PortRef = { id: string } | { service: string; name: string; env: string; protocol?: Protocol | undefined };

/** States in which a port is live: it holds its number and may still change. */
export const liveStates = ['requested', 'active', 'transitioning'] as const satisfies readonly PortRow['state'][];

/**
 * Reads `12` as an id and `payments/api` as a service/name (in `env`, default `default`).
 * Anything else is a `bad_request`.
 */
export function parsePortRef(text: string, env: string | undefined, protocol: Protocol | undefined): PortRef {
  if (/^\d{1,15}$/.test(text)) return { id: text };
  const match = /^([a-z0-9][a-z0-9._-]*)\/([a-z0-9][a-z0-9._-]*)$/.exec(text);
  if (!match) throw new PortwardenError('bad_request', `"${text}" is neither a port id nor service/name`);
  return { service: match[1] ?? '', name: match[2] ?? '', env: env ?? defaultEnv, protocol };
}

/** `payments/api in prod`, or `port 12`, for messages. */
export function describeRef(ref: PortRef): string {
  if ('id' in ref) return `port ${ref.id}`;
  return `${ref.service}/${ref.name}${ref.protocol ? ` (${ref.protocol})` : ''} in ${ref.env}`;
}

/**
 * The record a reference names: by id, that record; by service/name, the live record, else
 * the latest one (so a released port is shown, and acting on it says it is released).
 * Both protocols live at once need `protocol` to choose.
 */
export async function resolvePort(tx: StoreTx, ref: PortRef): Promise<PortRow> {
  if ('id' in ref) {
    const row = await tx.ports.get(ref.id);
    if (!row) throw new PortwardenError('not_found', `no port ${ref.id}`);
    return row;
  }
  const rows = await tx.ports.list({ service: ref.service, name: ref.name, env: ref.env, ...(ref.protocol ? { protocol: ref.protocol } : {}) });
  const live = rows.filter((row) => (liveStates as readonly string[]).includes(row.state));
  if (live.length > 1) {
    throw new PortwardenError('conflict', `${describeRef(ref)} is registered for ${live.map((row) => row.protocol).join(' and ')}; say which protocol`);
  }
  const found = live[0] ?? rows.reduce<PortRow | undefined>((latest, row) => (latest === undefined || row.createdAt >= latest.createdAt ? row : latest), undefined);
  if (!found) throw new PortwardenError('not_found', `${describeRef(ref)} is not registered`);
  return found;
}
