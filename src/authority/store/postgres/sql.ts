import type { ClientBase } from 'pg';

import type { Row } from '../columns.ts';

export { int, intOrNull, str, strOrNull } from '../columns.ts';
export type { Row };

/*
 * Rows as node-postgres returns them: BIGINT as numbers (see `store.ts`), JSON parsed.
 * Text is sorted `COLLATE "C"` (byte-wise, as SQLite sorts it) whatever the database's locale.
 */

/** The few ways the repositories talk to one connection (a transaction's, or a read's). */
export interface Sql {
  all(text: string, params?: readonly unknown[]): Promise<Row[]>;
  one(text: string, params?: readonly unknown[]): Promise<Row | undefined>;
  /** Runs a statement; resolves to the number of rows it touched. */
  run(text: string, params?: readonly unknown[]): Promise<number>;
}

export function sqlOf(client: Pick<ClientBase, 'query'>): Sql {
  return {
    async all(text, params = []) {
      return (await client.query(text, [...params])).rows as Row[];
    },
    async one(text, params = []) {
      return (await client.query(text, [...params])).rows[0] as Row | undefined;
    },
    async run(text, params = []) {
      return (await client.query(text, [...params])).rowCount ?? 0;
    },
  };
}

/** A value for a JSON or JSONB parameter (node-postgres would send a JS array as a PostgreSQL array). */
export function jsonParam(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/** `$from, $from+1, ...` for `count` parameters, e.g. for `IN (...)`. */
export function placeholders(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
}
