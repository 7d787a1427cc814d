import { PortwardenError } from './errors.ts';

const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof unitMs;

const durationPattern = /^(\d+)(ms|s|m|h|d)$/;

/** Parses `500ms`, `30s`, `15m`, `24h`, `30d` (or `0`) into milliseconds. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const match = durationPattern.exec(text.trim());
  if (!match) {
    throw new PortwardenError('bad_request', `"${text}" is not a duration (use 500ms, 30s, 15m, 24h or 30d)`);
  }
  const [, amount, unit] = match as unknown as [string, string, Unit];
  return Number(amount) * unitMs[unit];
}

/** True when `text` parses as a duration. */
export function isDuration(text: string): boolean {
  return text === '0' || durationPattern.test(text.trim());
}

/** Formats milliseconds in the largest unit that divides them exactly: 90000 -> "90s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % unitMs[unit] === 0) return `${ms / unitMs[unit]}${unit}`;
  }
  return `${ms}ms`;
}
