import type { Writable } from 'node:stream';
import type { PortRecord } from '../../register/port-record.ts';
import type { AllocationView, PortDetail } from '../../authority/register/port-view.ts';
import { printJson, printTable } from '../output.ts';

/** `20001/tcp`, or `20001/tcp -> 20002 until <time>` while transitioning. */
export function numberText(port: Pick<PortRecord, 'number' | 'protocol' | 'transition' | 'kind'>): string {
  const number = port.number === null ? `${port.kind}/${port.protocol}` : `${port.number}/${port.protocol}`;
  return port.transition ? `${number} -> ${port.transition.to} until ${port.transition.window_ends_at}` : number;
}

const at = (when: string | null, who: string | null) => (when === null ? null : `${when} by ${who ?? '?'}`);

/** One port: its fields as a two-column table, then its licenses (request, show and every change). */
export function printPort(out: Writable, port: PortDetail & { allocation?: AllocationView }, format: 'table' | 'json'): void {
  if (format === 'json') {
    printJson(out, port);
    return;
  }
  const fields: [string, unknown][] = [
    ['port', `${port.service}/${port.name}`],
    ['id', port.id],
    ['env', port.env],
    ['number', numberText(port)],
    ['state', port.state],
    ['owner', port.owner],
    ['depends_on', port.dependencies],
    ['requested', at(port.created_at, port.created_by)],
    ['approved', at(port.approved_at, port.approved_by)],
    ['rejected', at(port.rejected_at, port.rejected_by)],
    ['released', at(port.released_at, port.released_by)],
    ['reason', port.reason],
    ['last_access', port.last_access_at ?? 'never'],
    ['previous', port.previous_numbers.map((previous) => `${previous.number} (released ${previous.released_at})`)],
  ];
  if (port.allocation) fields.push(['allocation', `${port.allocation.source}${port.allocation.range ? ` in range ${port.allocation.range}` : ''}`]);
  if (port.pending_license) fields.push(['license', `on approval, for ${port.pending_license.allow.join(', ')}`]);
  printTable(out, fields.filter(([, value]) => value !== null && !(Array.isArray(value) && value.length === 0)).map(([field, value]) => ({ field, value })), { field: 'FIELD', value: 'VALUE' });
  out.write('\n');
  if (port.licenses.length === 0) out.write('no licenses\n');
  else printTable(out, port.licenses, { lid: 'LICENSE', number: 'NUMBER', state: 'STATE', allow: 'ALLOW', expires_at: 'EXPIRES', last_access_at: 'LAST ACCESS' });
}

/** Unregistered listeners as `GET /v1/inventory/unregistered` lists them. */
interface UnregisteredListener {
  service: string;
  protocol: string;
  address: string;
  port: number;
  reported_at: string;
}

/** `ports list`: the register, or with --unregistered the listeners it lacks. */
export function printPortList(out: Writable, answer: { ports: PortRecord[] } | { unregistered: object[] }, format: 'table' | 'json'): void {
  if (format === 'json') {
    printJson(out, answer);
    return;
  }
  if ('unregistered' in answer) {
    const rows = answer.unregistered as UnregisteredListener[];
    if (rows.length === 0) out.write('no unregistered listeners\n');
    else printTable(out, rows, { service: 'SERVICE', protocol: 'PROTO', address: 'ADDRESS', port: 'PORT', reported_at: 'REPORTED' });
    return;
  }
  if (answer.ports.length === 0) {
    out.write('no ports\n');
    return;
  }
  printTable(out, answer.ports.map(listRow), { id: 'ID', port: 'PORT', env: 'ENV', number: 'NUMBER', state: 'STATE', owner: 'OWNER', last_access: 'LAST ACCESS' });
}

function listRow(port: PortRecord) {
  return { id: port.id, port: `${port.service}/${port.name}`, env: port.env, number: numberText(port), state: port.state, owner: port.owner, last_access: port.last_access_at ?? 'never' };
}

/** `ports reclaim`: what was (or, in a dry run, would be) released. */
export function printReclaim(out: Writable, answer: { dry_run: boolean; stale_after: string; ports: PortRecord[] }, format: 'table' | 'json'): void {
  if (format === 'json') {
    printJson(out, answer);
    return;
  }
  const count = `${answer.ports.length} stale port${answer.ports.length === 1 ? '' : 's'} (unused for ${answer.stale_after})`;
  if (answer.ports.length === 0) out.write(`no stale ports (unused for ${answer.stale_after})\n`);
  else out.write(answer.dry_run ? `dry run: ${count} would be released; run with --yes to release them\n` : `released ${count}\n`);
  if (answer.ports.length > 0) printTable(out, answer.ports.map(listRow), { id: 'ID', port: 'PORT', env: 'ENV', number: 'NUMBER', owner: 'OWNER', last_access: 'LAST ACCESS' });
}
