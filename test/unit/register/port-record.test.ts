import { describe, expect, it } from 'vitest';
import {
  assertTransition,
  canTransition,
  portRecordSchema,
  portStates,
  stateTransitions,
  type PortState,
} from '../../../src/register/port-record.ts';
import { usesFromRecords } from '../../../src/register/number-use.ts';
import { isPortwardenError } from '../../../src/shared/errors.ts';

const base = {
  id: 'p1',
  service: 'payments',
  name: 'api',
  env: 'prod',
  number: 20001,
  owner: 'team-payments',
  state: 'active',
  created_at: '2026-01-01T00:00:00.000Z',
  created_by: 'alice',
};

describe('port state transitions', () => {
  it('lists exactly the legal moves', () => {
    expect(stateTransitions).toEqual({
      requested: ['active', 'rejected'],
      active: ['transitioning', 'released'],
      transitioning: ['active', 'released'],
      released: [],
      rejected: [],
    });
  });

  it('refuses every other move with conflict, naming what is allowed', () => {
    const legal = new Set(Object.entries(stateTransitions).flatMap(([from, tos]) => tos.map((to) => `${from}>${to}`)));
    for (const from of portStates) {
      for (const to of portStates) {
        expect(canTransition(from, to)).toBe(legal.has(`${from}>${to}`));
        if (legal.has(`${from}>${to}`)) {
          expect(() => assertTransition(from, to)).not.toThrow();
        } else {
          expect(() => assertTransition(from, to)).toThrow(expect.objectContaining({ code: 'conflict' }));
        }
      }
    }
  });

  it('says why: a final state, or where the port may go instead', () => {
    const message = (from: PortState, to: PortState) => {
      try {
        assertTransition(from, to);
      } catch (err) {
        if (isPortwardenError(err, 'conflict')) return err.message;
      }
      return undefined;
    };
    expect(message('released', 'active')).toBe('a port cannot go from released to active (released is final)');
    expect(message('requested', 'transitioning')).toBe('a port cannot go from requested to transitioning (from requested only to active or rejected)');
  });
});

describe('port record', () => {
  it('fills defaults for the optional fields', () => {
    const record = portRecordSchema.parse(base);
    expect(record).toMatchObject({ protocol: 'tcp', kind: 'static', dependencies: [], transition: null, previous_numbers: [], last_access_at: null });
  });

  it('refuses a static port without a number and a transition outside the transitioning state', () => {
    const noNumber = portRecordSchema.safeParse({ ...base, number: null });
    expect(noNumber.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['number']);
    const stray = portRecordSchema.safeParse({ ...base, transition: { to: 20002, window_ends_at: '2026-01-01T01:00:00Z' } });
    expect(stray.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['transition']);
    const released = portRecordSchema.safeParse({ ...base, state: 'released' });
    expect(released.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['released_at']);
    const badDependency = portRecordSchema.safeParse({ ...base, dependencies: ['billing'] });
    expect(badDependency.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['dependencies.0']);
  });

  it('accepts an ephemeral port without a number', () => {
    expect(portRecordSchema.parse({ ...base, kind: 'ephemeral', number: null }).number).toBeNull();
  });
});

describe('numbers a register holds', () => {
  const at = (iso: string) => Date.parse(iso);

  it('holds requested, active and both numbers of a transition; cools released and previous numbers; ignores rejected and ephemeral', () => {
    const records = [
      { ...base, id: 'a', name: 'a', number: 20001, state: 'requested' },
      { ...base, id: 'b', name: 'b', number: 20002, previous_numbers: [{ number: 20010, released_at: '2026-01-02T00:00:00Z' }] },
      { ...base, id: 'c', name: 'c', number: 20003, state: 'transitioning', transition: { to: 20004, window_ends_at: '2026-01-03T00:00:00Z' } },
      { ...base, id: 'd', name: 'd', number: 20005, state: 'released', released_at: '2026-01-04T00:00:00Z' },
      { ...base, id: 'e', name: 'e', number: 20006, state: 'rejected' },
      { ...base, id: 'f', name: 'f', number: 40000, kind: 'ephemeral' },
    ].map((record) => portRecordSchema.parse(record));
    const uses = usesFromRecords(records).map((use) => [use.name, use.number, use.releasedAt]);
    expect(uses).toEqual([
      ['a', 20001, undefined],
      ['b', 20010, at('2026-01-02T00:00:00Z')],
      ['b', 20002, undefined],
      ['c', 20003, undefined],
      ['c', 20004, undefined],
      ['d', 20005, at('2026-01-04T00:00:00Z')],
    ]);
  });
});
