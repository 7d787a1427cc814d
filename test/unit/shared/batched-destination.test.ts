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
    // all out before the descriptor is closed (and its number reused by the next test)
    await new Promise<void>((resolve) => destination.flush(() => resolve()));
    expect(read()).toBe(lines.join(''));
  });
});

describe('batchedDestination, encoding and flush', () => {
  it('writes non-ASCII text byte-exact, lines longer than its buffer, and calls flush back once all is out', async () => {
    const { fd, read } = tempFd();
    const destination = batchedDestination(fd, { minLength: 4096, maxDelayMs: 60_000 });
    const long = `${'é'.repeat(100_000)}\n`;
    destination.write('spiffe://corp/ns/ü/sa/ø\n');
    destination.write(long);
    destination.write('last\n');
    await new Promise<void>((resolve, reject) => destination.flush((err) => (err ? reject(err) : resolve())));
    expect(read()).toBe(`spiffe://corp/ns/ü/sa/ø\n${long}last\n`);
  });

  it('flush with nothing waiting calls back at once', async () => {
    const { fd } = tempFd();
    const destination = batchedDestination(fd);
    await new Promise<void>((resolve) => destination.flush(() => resolve()));
  });
});
