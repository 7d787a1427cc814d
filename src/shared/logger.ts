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
  /**
   * Batch the lines written to standard output: they go out once 4 KiB are waiting, or every
   * 100 ms, instead of one asynchronous write each. Each async write is a round trip through
   * libuv's threadpool (a futex wake, the write, an eventfd wake-up of the loop): for the
   * sidecar's one access line per connection that cost more than the line itself. Lines still
   * waiting at exit are written by pino's exit hook.
   */
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
    options.destination ?? pino.destination({ dest: 1, sync: false, ...(options.batch ? { minLength: 4096, periodicFlush: 100 } : {}) }),
  );
}
