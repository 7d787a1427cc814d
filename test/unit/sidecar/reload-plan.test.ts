import { describe, expect, it } from 'vitest';
import { planReload } from '../../../src/sidecar/reload-plan.ts';
import { testConfig } from '../../helpers/sidecar-harness.ts';

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

  it('refuses a change of service or authority, naming the key', () => {
    const before = testConfig([{ name: 'api', upstream: '127.0.0.1:1' }]);
    const after = testConfig([{ name: 'api', upstream: '127.0.0.1:1' }], { service: 'orders', authority: { url: 'http://10.0.0.1:7400' } });
    expect(() => planReload(before, after)).toThrow(
      expect.objectContaining({ code: 'config_invalid', issues: [expect.objectContaining({ key: 'service' }), expect.objectContaining({ key: 'authority' })] }),
    );
  });
});
