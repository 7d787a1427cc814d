// The shapes of the authority's answers the console reads (see README "Authority API").
// Only for type checking: the browser never loads this file. test/architecture/console-api-types.ts
// holds these to the server's own types, so a field the API renames fails npm run typecheck.

import type { Api } from './api.js';

export type Role = 'admin' | 'viewer' | 'sidecar';

export interface Whoami {
  id: string;
  name: string | null;
  role: Role;
  service: string | null;
}

export type PortState = 'requested' | 'active' | 'transitioning' | 'released' | 'rejected';
export type Protocol = 'tcp' | 'udp';

export interface PortRecord {
  id: string;
  service: string;
  name: string;
  env: string;
  protocol: Protocol;
  kind: 'static' | 'ephemeral';
  number: number | null;
  owner: string;
  dependencies: string[];
  state: PortState;
  created_at: string;
  created_by: string;
  approved_at: string | null;
  approved_by: string | null;
  rejected_at: string | null;
  rejected_by: string | null;
  released_at: string | null;
  released_by: string | null;
  reason: string | null;
  transition: { to: number; window_ends_at: string } | null;
  last_access_at: string | null;
  previous_numbers: { number: number; released_at: string }[];
}

export type LicenseState = 'active' | 'revoked' | 'expired';

export interface PortLicense {
  lid: string;
  number: number;
  protocol: Protocol;
  state: LicenseState;
  allow: string[];
  expires_at: string;
  last_access_at: string | null;
}

export interface PortDetail extends PortRecord {
  pending_license: { allow: string[] } | null;
  licenses: PortLicense[];
}

export interface License {
  lid: string;
  service: string;
  port_name: string;
  sub: string;
  port: { number: number; protocol: Protocol };
  allow: string[];
  env: string | null;
  renew: 'auto' | 'always' | 'never';
  ttl: string;
  state: LicenseState;
  issued_at: string;
  not_before: string;
  expires_at: string;
  max_lifetime_until: string;
  renewals: number;
  revoked_at: string | null;
  last_access_at: string | null;
}

export interface LicenseList {
  index: number;
  licenses: License[];
  at_risk: string[];
  /** When each current license's renew window opens. */
  renew_at: Record<string, string>;
}

export interface Caller {
  port: string;
  identity: string | null;
  origin: string;
  count: number;
  bytes_in: number;
  bytes_out: number;
  first_access_at: string;
  last_access_at: string;
  last_decision: 'allow' | 'deny';
  last_reason: string | null;
}

export interface PortAccess {
  service: string;
  port: string;
  totals: { count: number; bytes_in: number; bytes_out: number; first_access_at: string; last_access_at: string; last_decision: 'allow' | 'deny'; last_reason: string | null; last_allowed_at: string | null } | null;
  callers: Caller[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

export interface Span {
  from: number;
  to: number;
}

export interface NamedRange extends Span {
  name: string;
  services: string[] | null;
  envs: string[] | null;
}

export interface Policy {
  approval: 'auto' | 'manual';
  reserved: Span[];
  ranges: NamedRange[];
  stale_after: string;
  reuse_cooldown: string;
}

export type NumberState = 'assigned' | 'requested' | 'transitioning' | 'cooldown';

export interface NumberEntry {
  env: string;
  protocol: Protocol;
  number: number;
  state: NumberState;
  port: { id: string; service: string; name: string };
  until: string | null;
}

export interface ReclaimAnswer {
  dry_run: boolean;
  stale_after: string;
  ports: PortRecord[];
}

/** What every page is drawn from, read again on every change. */
export interface Snapshot {
  ports: PortRecord[];
  /** Ids of the ports `stale_after` lists. */
  stale: Set<string>;
  licenses: LicenseList;
  numbers: NumberEntry[];
  policy: Policy;
  /** Who an audit entry's actor is: token ids to their names. */
  actors: Map<string, string>;
}

/** What a page gets besides its data. */
export interface ViewContext {
  api: Api;
  me: Whoami;
  snapshot: Snapshot;
  /** The route's parameters, e.g. a port's id. */
  params: Record<string, string>;
  /** Draws the page again from the data already loaded (filters, sorting, selection). */
  rerender(): void;
  /** Loads everything again and draws the page. */
  refresh(): Promise<void>;
  /** A short message in the corner: what an action did. */
  notify(message: string, kind?: 'ok' | 'error'): void;
}

/** One page of the console. */
export interface View<T> {
  /** The navigation entry it belongs to. */
  nav: 'overview' | 'ports' | 'approvals' | 'licenses' | 'stale';
  title(ctx: ViewContext): string;
  /** What the page needs beyond the snapshot. */
  load(ctx: ViewContext): Promise<T>;
  render(data: T, ctx: ViewContext): Node;
}
