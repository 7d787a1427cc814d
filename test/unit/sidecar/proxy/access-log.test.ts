import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/shared/logger.ts';
import type { AccessRecord } from '../../../../src/sidecar/proxy/access-record.ts';
import { AccessLog } from '../../../../src/sidecar/proxy/access-log.ts';

function capture(level: 'info' | 'warn' = 'info') {
  const destination = new PassThrough();
  const lines: string[] = [];
  destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const logger = createLogger({ level, destination }).child({ component: 'sidecar' }).child({ port: 'api' });
  return { logger, lines };
}

const allowed: AccessRecord = {
  time: 1_700_000_000_000,
  conn: 42,
  port: 'api',
  identity: 'spiffe://corp/ns/a/sa/"quoted"\u2028',
  origin: '[::1]:5000',
  originAddress: '::1',
  decision: 'allow',
  reason: undefined,
  lid: 'lic_1',
  bytesIn: 10,
  bytesOut: 20,
  durationMs: 3.5,
  closeReason: 'client',
};
const denied: AccessRecord = { ...allowed, conn: 43, identity: undefined, decision: 'deny', reason: 'no_identity', lid: undefined, bytesIn: 0, bytesOut: 0, durationMs: 0, closeReason: undefined };

describe('AccessLog', () => {
  it('writes the line pino writes for the same record (fields, order, bindings), time aside', () => {
    for (const record of [allowed, denied]) {
      const { logger, lines } = capture();
      new AccessLog(logger).write(record);
      const { conn, identity, origin, decision, reason, lid, bytesIn, bytesOut, durationMs, closeReason } = record;
      logger.info({ conn, identity, origin, decision, reason, lid, bytesIn, bytesOut, durationMs, closeReason }, 'access');
      expect(lines).toHaveLength(2);
      const [ours, pinos] = lines.map((line) => line.replace(/"time":"[^"]+"/, '"time":"T"'));
      expect(ours).toBe(pinos);
      const parsed = JSON.parse(lines[0] as string) as Record<string, unknown>;
      expect(parsed).toMatchObject({ level: 'info', component: 'sidecar', port: 'api', msg: 'access', conn, decision });
      expect(parsed.identity).toBe(identity);
    }
  });

  it('escapes each identity and lid of its own when they change from line to line', () => {
    const { logger, lines } = capture();
    const log = new AccessLog(logger);
    const other = { ...allowed, identity: 'spiffe://corp/ns/b/sa/other', lid: 'lic_2' };
    for (const record of [allowed, other, denied, allowed]) log.write(record);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.map((line) => [line.identity, line.lid])).toEqual([
      [allowed.identity, allowed.lid],
      [other.identity, other.lid],
      [undefined, undefined],
      [allowed.identity, allowed.lid],
    ]);
  });

  it('stamps the time the line is written, in ISO form with milliseconds', () => {
    const { logger, lines } = capture();
    const before = Date.now();
    new AccessLog(logger).write(allowed);
    const time = Date.parse((JSON.parse(lines[0] as string) as { time: string }).time);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
    expect((JSON.parse(lines[0] as string) as { time: string }).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('writes nothing when the level is above info', () => {
    const { logger, lines } = capture('warn');
    new AccessLog(logger).write(allowed);
    expect(lines).toHaveLength(0);
  });
});
