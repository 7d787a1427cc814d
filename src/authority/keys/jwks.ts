import { isPublished } from './rotation.ts';
import type { KeyRow } from '../store/keys.ts';

/** One verification key as the JWKS publishes it. */
export interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/** `GET /.well-known/jwks.json`: the active key and every retired key with a live token. */
export function buildJwks(keys: readonly KeyRow[], now: number): { keys: PublicJwk[] } {
  return {
    keys: keys
      .filter((key) => isPublished(key, now))
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((key) => ({ ...key.publicJwk, kid: key.kid, alg: 'EdDSA', use: 'sig' })),
  };
}
