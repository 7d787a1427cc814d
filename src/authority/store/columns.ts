/**
 * Reading stored columns, for both backends: narrowing of column values (a mismatch means the
 * schema and the code disagree) and the two ways a JSON column comes back.
 */

/** A row as a backend returns it. */
export type Row = Record<string, unknown>;

/** Reads a JSON column as the backend returns it; null stays null. */
export type JsonColumn = (value: unknown) => unknown;

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

/** SQLite's: JSON columns hold text. */
export const json: JsonColumn = (value) => {
  return value === null || value === undefined ? null : JSON.parse(str(value));
};

/** PostgreSQL's: jsonb arrives parsed. */
export const parsedJson: JsonColumn = (value) => value ?? null;
