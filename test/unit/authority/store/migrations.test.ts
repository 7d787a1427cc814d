import { expect, it } from 'vitest';
import { postgresMigrations } from '../../../../src/authority/store/postgres/migrations.ts';
import { migrations as sqliteMigrations } from '../../../../src/authority/store/sqlite/migrations.ts';

// the two dialects are kept by hand: a migration added to one and not the other, or numbered
// differently, would leave authorities on the two backends at different schemas under one version
it('keeps the SQLite and PostgreSQL migration lists at the same versions, with the same names, in order', () => {
  const steps = (list: readonly { version: number; name: string }[]) => list.map(({ version, name }) => ({ version, name }));
  expect(steps(postgresMigrations)).toEqual(steps(sqliteMigrations));
  expect(sqliteMigrations.map((migration) => migration.version)).toEqual(sqliteMigrations.map((_, index) => index + 1));
});
