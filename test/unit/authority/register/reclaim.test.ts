import { describe, expect, it } from 'vitest';
import { stalePorts } from '../../../../src/authority/register/reclaim.ts';
import { parsePortRef } from '../../../../src/authority/register/port-ref.ts';
import { readUsage } from '../../../../src/authority/register/port-usage.ts';
import type { LicenseRow } from '../../../../src/authority/store/licenses.ts';
import type { PortAccessRow } from '../../../../src/authority/store/access.ts';
import type { PortRow } from '../../../../src/authority/store/ports.ts';

const day = 86_400_000;

function port(id: string, fields: Partial<PortRow> = {}): PortRow {
  return {
    id, service: 'payments', name: `p${id}`, env: 'prod', protocol: 'tcp', kind: 'static', number: 20000 + Number(id), owner: 'o',
    dependencies: [], state: 'active', createdAt: 0, createdBy: 'a', approvedAt: 0, approvedBy: 'policy', rejectedAt: null, rejectedBy: null,
    releasedAt: null, releasedBy: null, reason: null, transition: null, previousNumbers: [], pendingLicense: null, ...fields,
  };
}

function license(row: PortRow, fields: Partial<LicenseRow>): LicenseRow {
  return {
    lid: `lic_${row.id}`, service: row.service, portName: row.name, portNumber: row.number ?? 0, protocol: row.protocol, allow: ['x'], env: row.env,
    renew: 'auto', ttlMs: day, state: 'active', createdAt: 0, maxUntil: 30 * day, createdBy: 'a', jti: 'j', kid: 'k', token: 't', iat: 0, exp: day,
    renewals: 0, revokedAt: null, expiredAt: null, lastAccessAt: null, createIndex: 1, modifyIndex: 1, ...fields,
  };
}

/** The usage `readUsage` would build from these rows. */
async function usageOf(licenses: LicenseRow[], access: PortAccessRow[] = []) {
  const tx = { licenses: { list: async () => licenses }, access: { ports: async () => access } };
  return readUsage(tx as never);
}

describe('stalePorts', () => {
  it('measures from the last admitted access, else the approval, with stale_after itself counting as stale', async () => {
    const idle = port('1', { approvedAt: 5 * day });
    const used = port('2');
    const usedElsewhere = port('3', { env: 'staging' }); // the prod license below is not its own
    const byAccess = port('4');
    const rows = [idle, used, usedElsewhere, byAccess, port('5', { state: 'transitioning', transition: { to: 1, windowEndsAt: 0 } }), port('6', { state: 'requested' })];
    const usage = await usageOf(
      [license(used, { lastAccessAt: 20 * day }), license({ ...usedElsewhere, env: 'prod' }, { lid: 'other', lastAccessAt: 40 * day })],
      [{ service: 'payments', port: 'p4', count: 3, bytesIn: 0, bytesOut: 0, firstAccessAt: 0, lastAccessAt: 44 * day, lastDecision: 'deny', lastReason: 'revoked', lastAllowedAt: 12 * day }],
    );
    const stale = stalePorts(rows, usage, 42 * day, 30 * day);
    expect(stale.map((entry) => [entry.row.id, entry.lastAccessAt, entry.idleSince / day])).toEqual([
      ['3', null, 0],
      ['1', null, 5],
      ['4', 12 * day, 12],
    ]);
    expect(stalePorts(rows, usage, 35 * day, 30 * day).map((entry) => entry.row.id)).toEqual(['3', '1']);
  });
});

describe('parsePortRef', () => {
  it('reads ids and service/name references, and refuses anything else', () => {
    expect(parsePortRef('12', undefined, undefined)).toEqual({ id: '12' });
    expect(parsePortRef('payments/api', undefined, undefined)).toEqual({ service: 'payments', name: 'api', env: 'default', protocol: undefined });
    expect(parsePortRef('payments/api', 'prod', 'udp')).toEqual({ service: 'payments', name: 'api', env: 'prod', protocol: 'udp' });
    for (const bad of ['', 'payments', 'Payments/api', 'a/b/c', '12a']) expect(() => parsePortRef(bad, undefined, undefined)).toThrow(expect.objectContaining({ code: 'bad_request' }));
  });
});
