/** Inventory: the listening sockets each sidecar reports as stored: the row, its repository (implemented by sqlite/ and postgres/), and the row mapper both share. */
import type { Protocol } from '../../register/port-record.ts';
import { int, str, type Row, type JsonColumn } from './columns.ts';

/** One listening socket a sidecar reported. */
export interface InventoryListenerRow {
  protocol: Protocol;
  address: string;
  port: number;
}

/** The latest listener snapshot of a service's sidecar. */
export interface InventoryRow {
  service: string;
  /** When the authority received it. */
  reportedAt: number;
  /** When the sidecar read it. */
  sentAt: number;
  listeners: InventoryListenerRow[];
  /** TCP ports the reporting sidecar accounts for itself: its listen ports, their upstreams, its admin port. */
  sidecarPorts: number[];
}

export interface InventoryRepo {
  /** Replaces the service's snapshot. */
  put(row: InventoryRow): Promise<void>;
  get(service: string): Promise<InventoryRow | undefined>;
  /** Every service's snapshot, by service. */
  list(): Promise<InventoryRow[]>;
}

/** A stored row as a `InventoryRow`; `json` reads a JSON column as the backend returns it. */
export function inventoryFromRow(row: Row, json: JsonColumn): InventoryRow {
  return {
    service: str(row.service),
    reportedAt: int(row.reported_at),
    sentAt: int(row.sent_at),
    listeners: json(row.listeners) as InventoryListenerRow[],
    sidecarPorts: json(row.sidecar_ports) as number[],
  };
}
