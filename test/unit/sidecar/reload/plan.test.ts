import { describe, expect, it } from 'vitest';
import { matchAddresses, planReload } from '../../../../src/sidecar/reload/plan.ts';
import { testConfig } from '../../../helpers/sidecar-harness.ts';

describe('planReload', () => {
  it('sorts ports into added, removed, changed and unchanged by name', () => {
    const before = testConfig([
      { name: 'same', upstream: '127.0.0.1:1' },
      { name: 'gone', upstream: '127.0.0.1:2' },
      { name: 'tuned', upstream: '127.0.0.1:3' },
    ]);
    const after = testConfig([
      { name: 'same', upstream: '127.0.0.1:1' },
      { name: 'tuned', upstream: '127.0.0.1:3', max_connections: 10 },
      { name: 'new', upstream: '127.0.0.1:4' },
    ]);
    const plan = planReload(before, after);
    expect(plan.added.map((port) => port.name)).toEqual(['new']);
    expect(plan.removed).toEqual(['gone']);
    expect(plan.changed.map((port) => port.name)).toEqual(['tuned']);
    expect(plan.unchanged.map((port) => port.name)).toEqual(['same']);
    expect(plan.adminChanged).toBe(false);
  });

  it('tells a port whose listen addresses alone changed from one whose settings changed', () => {
    const before = testConfig([
      { name: 'moving', upstream: '127.0.0.1:1', listen: '127.0.0.1:20001' },
      { name: 'moving-and-tuned', upstream: '127.0.0.1:2', listen: '127.0.0.1:20002' },
    ]);
    const after = testConfig([
      { name: 'moving', upstream: '127.0.0.1:1', listen: ['127.0.0.1:20001', '127.0.0.1:20050'] },
      { name: 'moving-and-tuned', upstream: '127.0.0.1:2', listen: ['127.0.0.1:20002', '127.0.0.1:20051'], on_revoke: 'drain' },
    ]);
    const plan = planReload(before, after);
    expect(plan.readdressed.map((port) => port.name)).toEqual(['moving']);
    expect(plan.changed.map((port) => port.name)).toEqual(['moving-and-tuned']);
    // the same addresses written as a one-entry list are the same configuration
    expect(planReload(before, testConfig([{ name: 'moving', upstream: '127.0.0.1:1', listen: ['127.0.0.1:20001'] }])).unchanged.map((port) => port.name)).toEqual(['moving']);
  });

  it('refuses a change of service or authority, naming the key', () => {
    const before = testConfig([{ name: 'api', upstream: '127.0.0.1:1' }]);
    const after = testConfig([{ name: 'api', upstream: '127.0.0.1:1' }], { service: 'orders', authority: { url: 'http://10.0.0.1:7400' } });
    expect(() => planReload(before, after)).toThrow(
      expect.objectContaining({ code: 'config_invalid', issues: [expect.objectContaining({ key: 'service' }), expect.objectContaining({ key: 'authority' })] }),
    );
  });

  it('pairs the listeners a readdressed port keeps with its new addresses, and lists the ones to drop', () => {
    const on = (host: string, port: number) => ({ port: { listen: { host, port } } });
    const [a, b, any1, any2] = [on('0.0.0.0', 20001), on('0.0.0.0', 20050), on('127.0.0.1', 0), on('127.0.0.1', 0)];
    const { keep, drop } = matchAddresses([a, b, any1, any2], [
      { host: '0.0.0.0', port: 20050 },
      { host: '0.0.0.0', port: 20060 },
      { host: '127.0.0.1', port: 0 },
    ]);
    expect(keep).toHaveLength(3);
    expect(keep[0]).toBe(b);
    expect(keep[1]).toBeUndefined(); // a new address: bound by the reload
    expect(keep[2]).toBe(any1);
    expect(drop).toHaveLength(2);
    expect(drop[0]).toBe(a);
    expect(drop[1]).toBe(any2);
  });
});
