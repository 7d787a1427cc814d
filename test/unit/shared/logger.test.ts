import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/shared/logger.ts';

describe('createLogger', () => {
  it('writes NDJSON with the level as a word and replaces secrets before a line is written', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    logger.info(
      { token: 'pw.a.secret1', authorization: 'Bearer secret2', headers: { authorization: 'Bearer secret3' }, tls: { key: 'secret4' }, file: '/etc/token' },
      'hello',
    );
    const [line] = lines.map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(line).toMatchObject({ level: 'info', msg: 'hello', token: '[redacted]', authorization: '[redacted]', headers: { authorization: '[redacted]' }, tls: { key: '[redacted]' }, file: '/etc/token' });
    expect(lines.join('')).not.toMatch(/secret\d/);
  });
});
