import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { PortwardenError } from '../../shared/errors.ts';
import type { LicensePayload } from '../../shared/license-claims.ts';
import type { StoreTx } from '../store/store.ts';


/** The JOSE `typ` of a portwarden license; sidecars pin it. */
export const licenseTyp = 'portwarden-license+jwt';
/** The `aud` of every license. */
export const licenseAudience = 'portwarden-sidecar';

/**
 * Signs licenses with the store's active Ed25519 key. Reading the active key inside the
 * caller's transaction keeps several authorities on one database signing with the same key;
 * the parsed private key is cached per `kid`.
 */
export class LicenseSigner {
  readonly #issuer: string;
  readonly #keys = new Map<string, KeyObject>();

  constructor(issuer: string) {
    this.#issuer = issuer;
  }

  /** Signs `payload` and records its `exp` against the key, so the key stays published until then. */
  async sign(tx: StoreTx, payload: LicensePayload): Promise<{ token: string; kid: string }> {
    const key = await tx.keys.active();
    if (!key) throw new PortwardenError('unavailable', 'no signing key; the authority has not finished starting');
    let privateKey = this.#keys.get(key.kid);
    if (!privateKey) {
      privateKey = createPrivateKey(key.privatePem);
      this.#keys.set(key.kid, privateKey);
    }
    const token = await new SignJWT({ ...payload, iss: this.#issuer, aud: licenseAudience })
      .setProtectedHeader({ alg: 'EdDSA', typ: licenseTyp, kid: key.kid })
      .sign(privateKey);
    await tx.keys.noteSigned(key.kid, payload.exp * 1000);
    return { token, kid: key.kid };
  }
}
