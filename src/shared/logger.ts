import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Fields that may hold a secret; pino replaces their values before a line is written. */
export const redactedPaths = [
  'token',
  '*.token',
  'tokens',
  '*.tokens',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'key',
  '*.key',
  'privateKey',
  '*.privateKey',
  'secret',
  '*.secret',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where NDJSON lines go; standard output when absent. Tests pass a stream to parse. */
  destination?: DestinationStream;
  /** Batch the lines written to standard output (see `batchedDestination`). */
  batch?: boolean;
}

/** The one root logger of a process; components take `logger.child({ component })`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactedPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? (options.batch ? batchedDestination(1) : pino.destination({ dest: 1, sync: false })),
  );
}

/**
 * A file descriptor (standard output) with lines batched: they go out once 4 KiB are waiting,
 * or at most `maxDelayMs` after the first of them, instead of one asynchronous write each.
 * Each async write is a round trip through libuv's threadpool (a futex wake, the write, an
 * eventfd wake-up of the loop): for the sidecar's one access line per connection that cost
 * more than the line itself. Nothing is written while idle (sonic-boom's own `periodicFlush`
 * would write an empty buffer every period). Lines still waiting at exit are written by
 * pino's exit hook.
 */
export function batchedDestination(fd: number, { minLength = 4096, maxDelayMs = 100 } = {}): DestinationStream & { flush(cb?: (err?: Error) => void): void } {
  const boom = pino.destination({ dest: fd, sync: false, minLength });
  // sonic-boom's bytes waiting (in flight included) and whether a write is in flight
  const state = boom as unknown as { _len: number; _writing: boolean };
  let timer: NodeJS.Timeout | undefined;
  const due = (): void => {
    timer = undefined;
    if (state._len === 0) return;
    // a write in flight: what is left after it goes at the next turn of this timer
    if (state._writing) arm();
    else boom.flush();
  };
  const arm = (): void => {
    timer = setTimeout(due, maxDelayMs);
    timer.unref();
  };
  return {
    write(line: string) {
      boom.write(line);
      if (timer === undefined) arm();
    },
    flush(cb?: (err?: Error) => void) {
      boom.flush(cb);
    },
  };
}
