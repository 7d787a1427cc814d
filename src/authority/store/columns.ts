/** Narrowing of SQLite column values; a mismatch means the schema and the code disagree. */

export function str(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`expected a text column, got ${typeof value}`);
  return value;
}

export function strOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : str(value);
}

export function int(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new TypeError(`expected an integer column, got ${typeof value}`);
}

export function intOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : int(value);
}

export function json(value: unknown): unknown {
  return value === null || value === undefined ? null : JSON.parse(str(value));
}
