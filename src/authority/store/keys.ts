/** Signing keys as stored: the row, its repository (implemented by sqlite/ and postgres/), and the row mapper both share. */
import { int, intOrNull, str, type Row, type JsonColumn } from './columns.ts';

/** An Ed25519 signing key. The private half never leaves the store and the signer. */
export interface KeyRow {
  kid: string;
  alg: 'EdDSA';
  /** The public JWK (`kty`, `crv`, `x`). */
  publicJwk: { kty: string; crv: string; x: string };
  /** PKCS#8 PEM. */
  privatePem: string;
  createdAt: number;
  retiredAt: number | null;
  /** The latest `exp` of any token this key signed; a retired key is published until then. */
  lastExp: number;
}

export interface KeyRepo {
  insert(row: KeyRow): Promise<void>;
  /** The key that signs now (the newest not retired). */
  active(): Promise<KeyRow | undefined>;
  list(): Promise<KeyRow[]>;
  retire(kid: string, at: number): Promise<void>;
  /** Raises `lastExp` of `kid` to `exp` when later. */
  noteSigned(kid: string, exp: number): Promise<void>;
}

/** A stored row as a `KeyRow`; `json` reads a JSON column as the backend returns it. */
export function keyFromRow(row: Row, json: JsonColumn): KeyRow {
  return {
    kid: str(row.kid),
    alg: 'EdDSA',
    publicJwk: json(row.public_jwk) as KeyRow['publicJwk'],
    privatePem: str(row.private_pem),
    createdAt: int(row.created_at),
    retiredAt: intOrNull(row.retired_at),
    lastExp: int(row.last_exp),
  };
}
