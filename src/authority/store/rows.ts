/**
 * The row mappers of every resource, bound to one backend's JSON column reader. Each mapper
 * lives beside its resource's row type; the backends differ only in how a JSON column comes
 * back: SQLite gives its text, PostgreSQL (jsonb) the parsed value.
 */
import { callerAccessFromRow, portAccessFromRow } from './access.ts';
import { auditEntryFromRow } from './audit.ts';
import { drillCallerAccessFromRow, drillFromRow, drillPortAccessFromRow } from './drills.ts';
import { inventoryFromRow } from './inventory.ts';
import { keyFromRow } from './keys.ts';
import { licenseFromRow } from './licenses.ts';
import { portFromRow } from './ports.ts';
import { tokenFromRow } from './tokens.ts';
import type { JsonColumn, Row } from './columns.ts';
import type { AuditEntry } from './audit.ts';
import type { CallerAccessRow, PortAccessRow } from './access.ts';
import type { DrillCallerAccess, DrillPortAccess, DrillRow } from './drills.ts';
import type { InventoryRow } from './inventory.ts';
import type { KeyRow } from './keys.ts';
import type { LicenseRow } from './licenses.ts';
import type { PortRow } from './ports.ts';
import type { TokenRow } from './tokens.ts';

export interface RowMappers {
  drillPortAccess(row: Row): DrillPortAccess;
  drillCallerAccess(row: Row): DrillCallerAccess;
  callers(row: Row): CallerAccessRow;
  portAccess(row: Row): PortAccessRow;
  audit(row: Row): AuditEntry;
  drills(row: Row): DrillRow;
  licenses(row: Row): LicenseRow;
  ports(row: Row): PortRow;
  tokens(row: Row): TokenRow;
  keys(row: Row): KeyRow;
  inventory(row: Row): InventoryRow;
}

export function rowMappers(json: JsonColumn): RowMappers {
  return {
    licenses: (row) => licenseFromRow(row, json),
    keys: (row) => keyFromRow(row, json),
    tokens: tokenFromRow,
    audit: (row) => auditEntryFromRow(row, json),
    callers: callerAccessFromRow,
    portAccess: portAccessFromRow,
    inventory: (row) => inventoryFromRow(row, json),
    ports: (row) => portFromRow(row, json),
    drills: (row) => drillFromRow(row, json),
    drillPortAccess: drillPortAccessFromRow,
    drillCallerAccess: drillCallerAccessFromRow,
  };
}
