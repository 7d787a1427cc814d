import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { batchedDestination } from '../../../src/shared/logger.ts';
import { waitFor } from '../../helpers/wait.ts';

function tempFd(): { fd: number; read: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'portwarden-batched-'));
  const file = join(dir, 'out.log');
  const fd = openSync(file, 'a');
  onTestFinished(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  return { fd, read: () => readFileSync(file, 'utf8') };
}

describe('batchedDestination', () => {
  it('holds a short line back, then writes it within the delay', async () => {
    const { fd, read } = tempFd();
    const destination = batchedDestination(fd, { maxDelayMs: 50 });
    destination.write('one\n');
    expect(read()).toBe('');
    await waitFor(() => read() === 'one\n', { what: 'the line written after the delay' });
  });

  it('writes once the batch is full, and what follows in order', async () => {
    const { fd, read } = tempFd();
    const destination = batchedDestination(fd, { minLength: 64, maxDelayMs: 60_000 });
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i}\n`);
    for (const line of lines.slice(0, 20)) destination.write(line);
    await waitFor(() => read().length >= 64, { what: 'a full batch written without waiting for the delay' });
    for (const line of lines.slice(20)) destination.write(line);
    await waitFor(() => read().length >= 64 * 2, { what: 'the next batch' });
    expect(lines.join('').startsWith(read())).toBe(true);
  });
});
