import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { BatchedWriter, type BatchedWriterOptions } from './batched-writer.ts';

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

/** Standard output (or `fd`) with lines batched; see `BatchedWriter`. */
export function batchedDestination(fd: number, options: BatchedWriterOptions = {}): BatchedWriter {
  return new BatchedWriter(fd, options);
}
