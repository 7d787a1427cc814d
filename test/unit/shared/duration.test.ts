import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/shared/duration.ts';

describe('parseDuration', () => {
  it('reads every unit of the contract', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('30d')).toBe(2_592_000_000);
    expect(parseDuration('0')).toBe(0);
  });

  it('refuses what is not a duration, with a code', () => {
    for (const bad of ['', '30', '1.5h', '-1s', '5x', 'h']) {
      expect(() => parseDuration(bad)).toThrow(expect.objectContaining({ code: 'bad_request' }));
    }
  });

  it('formats in the largest exact unit', () => {
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatDuration(0)).toBe('0s');
  });
});
