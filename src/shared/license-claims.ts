/**
 * The claims of a portwarden license, as the contract fixes them. Times are seconds. The
 * authority decides these; its signer adds `iss` and `aud`.
 */
export interface LicensePayload {
  sub: string; // <service>/<port-name>
  jti: string; // this token
  lid: string; // the license, the same across renewals
  iat: number;
  nbf: number;
  exp: number;
  port: { number: number; protocol: 'tcp' | 'udp' };
  allow: string[];
  env?: string;
}

/** A signed license's claims, as a sidecar verifies them. */
export interface LicenseClaims extends LicensePayload {
  iss: string;
  aud: string | string[];
}
