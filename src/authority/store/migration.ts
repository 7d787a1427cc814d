/**
 * One step of a store's schema, kept as an append-only list per backend (SQLite and
 * PostgreSQL each have theirs, with the same versions and names). A store at version N applies
 * every migration above N at open. Never edit a shipped migration: append one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}
