/** API tokens as stored: the row, its repository (implemented by sqlite/ and postgres/), and the row mapper both share. */
import { int, intOrNull, str, strOrNull, type Row } from './columns.ts';

/** `admin` does everything, `viewer` reads everything, `sidecar` acts for one service. */
export const tokenRoles = ['admin', 'viewer', 'sidecar'] as const;
export type TokenRole = (typeof tokenRoles)[number];

export interface TokenRow {
  id: string;
  name: string | null;
  role: TokenRole;
  service: string | null;
  /** sha256 of the secret part. */
  hash: Buffer;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
}

export interface TokenRepo {
  insert(row: TokenRow): Promise<void>;
  get(id: string): Promise<TokenRow | undefined>;
  list(): Promise<TokenRow[]>;
  revoke(id: string, at: number): Promise<void>;
  countActiveAdmins(): Promise<number>;
}

/** A stored row as a `TokenRow`. */
export function tokenFromRow(row: Row): TokenRow {
  return {
    id: str(row.id),
    name: strOrNull(row.name),
    role: str(row.role) as TokenRow['role'],
    service: strOrNull(row.service),
    hash: Buffer.from(row.hash as Uint8Array),
    createdAt: int(row.created_at),
    createdBy: str(row.created_by),
    revokedAt: intOrNull(row.revoked_at),
  };
}
