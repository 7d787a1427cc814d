import { write as fsWrite, writeSync } from 'node:fs';

/** The most bytes held while the descriptor does not keep up; lines past it are dropped. */
const maxPendingBytes = 16 * 1024 * 1024;

export interface BatchedWriterOptions {
  /** Bytes that make a batch worth a write at once (4 KiB). */
  minLength?: number;
  /** The longest a line waits for its batch to fill (100 ms). */
  maxDelayMs?: number;
}

/**
 * Log lines to a file descriptor (standard output), batched: they are encoded straight into a
 * buffer and go out in one asynchronous write once `minLength` bytes wait, or `maxDelayMs`
 * after the first of them; nothing is written while idle. Two buffers take turns, so lines
 * keep arriving while a batch is being written; partial writes are finished and EAGAIN is
 * retried. What waits at exit is written synchronously.
 *
 * Why not pino's sonic-boom with `minLength`: it keeps the batch as one growing string and
 * measures its byte length on every write, flattening it each time, then encodes it again to
 * write it; for the sidecar's one access line per connection that was a measurable share of
 * the connection's CPU.
 */
export class BatchedWriter {
  readonly #fd: number;
  readonly #minLength: number;
  readonly #maxDelayMs: number;
  #buffer: Buffer;
  #spare: Buffer;
  #length = 0;
  #writing = false;
  #timer: NodeJS.Timeout | undefined;
  #flushed: (() => void)[] = [];

  constructor(fd: number, { minLength = 4096, maxDelayMs = 100 }: BatchedWriterOptions = {}) {
    this.#fd = fd;
    this.#minLength = minLength;
    this.#maxDelayMs = maxDelayMs;
    const capacity = Math.max(64 * 1024, minLength * 2);
    this.#buffer = Buffer.allocUnsafe(capacity);
    this.#spare = Buffer.allocUnsafe(capacity);
    process.once('exit', () => this.flushSync());
  }

  /** Adds one line (or any text) to the batch. */
  write(text: string): boolean {
    const most = text.length * 3; // UTF-16 code units to UTF-8 bytes, at most
    if (this.#length + most > this.#buffer.length) {
      if (this.#length + most > maxPendingBytes) return false; // the descriptor is stuck: drop
      const bigger = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + most));
      this.#buffer.copy(bigger, 0, 0, this.#length);
      this.#buffer = bigger;
    }
    this.#length += this.#buffer.write(text, this.#length, 'utf8');
    if (this.#length >= this.#minLength) this.#startWrite();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#due, this.#maxDelayMs);
      this.#timer.unref();
    }
    return true;
  }

  /** Writes what waits now; `cb` runs once everything written so far is out. */
  flush(cb?: (err?: Error) => void): void {
    if (cb) {
      if (!this.#writing && this.#length === 0) {
        cb();
        return;
      }
      this.#flushed.push(cb);
    }
    this.#startWrite();
  }

  /** Writes what waits, synchronously (at exit); a batch already in flight is the threadpool's. */
  flushSync(): void {
    if (this.#length === 0) return;
    const length = this.#length;
    this.#length = 0;
    try {
      for (let offset = 0; offset < length; ) offset += writeSync(this.#fd, this.#buffer, offset, length - offset);
    } catch {
      // nowhere left to report it
    }
  }

  readonly #due = (): void => {
    this.#timer = undefined;
    this.#startWrite();
  };

  #startWrite(): void {
    if (this.#writing || this.#length === 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const out = this.#buffer;
    const length = this.#length;
    this.#buffer = this.#spare;
    this.#length = 0;
    this.#writing = true;
    this.#writeOut(out, 0, length);
  }

  #writeOut(out: Buffer, offset: number, end: number): void {
    fsWrite(this.#fd, out, offset, end - offset, null, (err, written) => {
      if (err?.code === 'EAGAIN') {
        setTimeout(() => this.#writeOut(out, offset, end), 10).unref();
        return;
      }
      // another error (EPIPE: the reader went away) drops this batch
      const next = err ? end : offset + written;
      if (next < end) {
        this.#writeOut(out, next, end);
        return;
      }
      // the batch is out: its buffer is the spare now (the filling one may have grown meanwhile)
      this.#spare = out;
      this.#writing = false;
      if (this.#length >= this.#minLength || (this.#length > 0 && this.#flushed.length > 0)) this.#startWrite();
      else if (this.#length === 0) {
        const waiters = this.#flushed;
        this.#flushed = [];
        for (const cb of waiters) cb();
      } else if (this.#timer === undefined) {
        this.#timer = setTimeout(this.#due, this.#maxDelayMs);
        this.#timer.unref();
      }
    });
  }
}
