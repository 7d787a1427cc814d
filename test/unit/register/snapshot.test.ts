import { describe, expect, it } from 'vitest';
import { createSnapshot, parseSnapshot, snapshotPolicy } from '../../../src/register/snapshot.ts';
import { defaultPolicy, type RegisterPolicy } from '../../../src/register/policy.ts';
import { portRecordSchema } from '../../../src/register/port-record.ts';
import { ManualClock } from '../../../src/shared/clock.ts';
import { ConfigError } from '../../../src/shared/config/config-error.ts';

const policy: RegisterPolicy = {
  ...defaultPolicy(),
  ranges: [
    { name: 'pg', from: 25000, to: 25099, services: ['postgres-*'], envs: ['prod'] },
    { name: 'default', from: 20000, to: 29999 },
  ],
};
const record = (id: string, service: string, env: string) =>
  portRecordSchema.parse({ id, service, name: 'api', env, number: 20001, owner: 'ops', state: 'active', created_at: '2026-01-01T00:00:00Z', created_by: 'ops' });

describe('register snapshot', () => {
  it('writes the policy as the configuration spells it, and the ports in a stable order', () => {
    const snapshot = createSnapshot(policy, [record('2', 'zeta', 'prod'), record('1', 'alpha', 'prod'), record('3', 'alpha', 'dev')], new ManualClock(Date.UTC(2026, 1, 1)));
    expect(snapshot.exported_at).toBe('2026-02-01T00:00:00.000Z');
    expect(snapshot.policy).toEqual({
      reserved: ['1-1023', '2379-2380', '6443', '10250-10259', '30000-32767'],
      ranges: [
        { name: 'pg', from: 25000, to: 25099, services: ['postgres-*'], envs: ['prod'] },
        { name: 'default', from: 20000, to: 29999 },
      ],
      reuse_cooldown: '1d', // the largest unit that divides it
    });
    expect(snapshot.ports.map((port) => port.id)).toEqual(['3', '1', '2']);
  });

  it('reads back what it writes', () => {
    const written = createSnapshot(policy, [record('1', 'alpha', 'prod')], new ManualClock());
    const read = parseSnapshot(JSON.stringify(written, null, 2), 'register.json');
    expect(snapshotPolicy(read)).toEqual(policy);
    expect(read.ports).toEqual([record('1', 'alpha', 'prod')]);
  });

  it('refuses a bad snapshot with every problem at its line', () => {
    const text = JSON.stringify(
      {
        version: 1,
        exported_at: '2026-01-01T00:00:00Z',
        policy: { reserved: ['1-1023', 'x'], ranges: [] },
        ports: [{ id: '1', service: 'a', name: 'api', env: 'prod', number: 20001, owner: 'o', state: 'gone', created_at: '2026-01-01T00:00:00Z', created_by: 'o' }],
      },
      null,
      2,
    );
    try {
      parseSnapshot(text, 'register.json');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const issues = (err as ConfigError).issues.map((issue) => `${issue.file}:${issue.line}: ${issue.key}`);
      expect(issues).toEqual(['register.json:7: policy.reserved[1]', 'register.json:19: ports[0].state']);
    }
  });
});
