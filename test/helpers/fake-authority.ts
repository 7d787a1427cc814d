import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { systemClock, type Clock } from '../../src/shared/clock.ts';
import { parseDuration } from '../../src/shared/duration.ts';

/** A way to make a license token that a sidecar must refuse. */
export type Forgery =
  /** `alg: none`, empty signature. */
  | 'alg-none'
  /** HS256, with the authority's public key bytes as the HMAC secret (the classic key-confusion attack). */
  | 'hs256-public-key'
  /** A genuine token whose payload was edited afterwards (allow list widened, exp pushed out). */
  | 'tampered'
  /** Signed by a key outside the JWKS, under the kid of a key inside it. */
  | 'foreign-key'
  /** Signed by a key outside the JWKS, under a kid nobody published. */
  | 'unknown-kid';

export interface MintOptions {
  service: string;
  /** The port name: `sub` is `<service>/<port>`. */
  port: string;
  /** `port.number`. */
  number: number;
  allow?: string[];
  env?: string;
  /** Lifetime from `iat` (default 1h). */
  ttlMs?: number;
  /** `nbf` relative to now (default 0). */
  nbfOffsetMs?: number;
  /** `iat` relative to now (default 0); a negative value with a short ttl gives an expired token. */
  iatOffsetMs?: number;
  lid?: string;
  /** Claims to override or add after the defaults (`iss`, `aud`, `sub`, ...). */
  claims?: Record<string, unknown>;
  /** Protected header fields to override (`typ`, `kid`). */
  header?: { typ?: string; kid?: string };
  forge?: Forgery;
}

/** A license the fake holds, as `issue` and `renew` return it. */
export interface IssuedLicense {
  service: string;
  lid: string;
  jti: string;
  token: string;
  /** The mint options, kept for `renew`. */
  options: MintOptions;
}

export interface FakeAuthorityOptions {
  /** `iss` of minted tokens (default `portwarden-authority`). */
  issuer?: string;
  /** The clock minted times are taken from; share the sidecar's `ManualClock`. */
  clock?: Clock;
  /** Serve https with this certificate and key (PEM text) instead of http. */
  tls?: { cert: string; key: string };
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

interface Waiter {
  service: string;
  index: number;
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

/**
 * A stand-in for the authority's sidecar-facing contract, on a real `node:http` server on
 * 127.0.0.1: `GET /.well-known/jwks.json` and the blocking `GET /v1/licenses?service&index&wait`
 * (held until the service changes after `index`, or `wait`), with bearer tokens scoped to one
 * service. It mints genuine Ed25519 licenses and forged ones, renews and revokes, rotates keys,
 * and can be stopped and restarted on the same port to simulate an outage.
 *
 * ```ts
 * const authority = await FakeAuthority.start({ clock });
 * onTestFinished(() => authority.close());
 * const license = await authority.issue({ service: 'payments', port: 'api', number: 8443 });
 * await authority.stop();    // outage: held polls are cut, connections refused
 * await authority.restart(); // back on the same port
 * ```
 */
export class FakeAuthority {
  readonly issuer: string;
  readonly #clock: Clock;
  readonly #tls: FakeAuthorityOptions['tls'];
  #keys: SigningKey[] = [];
  #server: Server | undefined;
  #port = 0;
  #index = 1;
  readonly #modified = new Map<string, number>();
  readonly #licenses = new Map<string, IssuedLicense>();
  readonly #revocations: { service: string; lid: string; index: number }[] = [];
  readonly #bearer = new Map<string, string>();
  readonly #waiters = new Set<Waiter>();
  #failure: { status: number; code: string } | undefined;
  #polls = 0;
  #jwksFetches = 0;

  private constructor(options: FakeAuthorityOptions) {
    this.issuer = options.issuer ?? 'portwarden-authority';
    this.#clock = options.clock ?? systemClock;
    this.#tls = options.tls;
  }

  /** Generates a signing key and listens on 127.0.0.1, port 0. */
  static async start(options: FakeAuthorityOptions = {}): Promise<FakeAuthority> {
    const authority = new FakeAuthority(options);
    await authority.rotateKey();
    await authority.restart();
    return authority;
  }

  /** `http://127.0.0.1:<port>` (https with `tls`); the same across stop and restart. */
  get url(): string {
    return `${this.#tls ? 'https' : 'http'}://127.0.0.1:${this.#port}`;
  }

  /** The kid new tokens are signed with. */
  get kid(): string {
    return this.#keys[this.#keys.length - 1]?.kid ?? '';
  }

  /** The public JWKS, as `/.well-known/jwks.json` serves it. */
  get jwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((key) => key.publicJwk) };
  }

  /** The current change index. */
  get index(): number {
    return this.#index;
  }

  /** Blocking queries being held right now. */
  get heldPolls(): number {
    return this.#waiters.size;
  }

  /** License queries answered or held so far. */
  get pollCount(): number {
    return this.#polls;
  }

  /** JWKS requests served so far. */
  get jwksFetches(): number {
    return this.#jwksFetches;
  }

  /** A bearer token scoped to `service` (made on first call; `token` sets a specific one). */
  sidecarToken(service: string, token?: string): string {
    for (const [existing, owner] of this.#bearer) if (owner === service && token === undefined) return existing;
    const value = token ?? `pw_sidecar_${randomBytes(12).toString('hex')}`;
    this.#bearer.set(value, service);
    return value;
  }

  /** Makes a bearer token unknown: polls with it get 401. */
  revokeSidecarToken(token: string): void {
    this.#bearer.delete(token);
  }

  /** Makes every license query answer `status` with `{ error: { code } }` until `failWith(undefined)`. */
  failWith(status: number | undefined, code = 'unavailable'): void {
    this.#failure = status === undefined ? undefined : { status, code };
  }

  /** Signs a license token without publishing it. */
  async mint(options: MintOptions): Promise<string> {
    const key = this.#keys[this.#keys.length - 1];
    if (!key) throw new Error('no signing key');
    const now = this.#clock.now() + (options.iatOffsetMs ?? 0);
    const iat = Math.floor(now / 1000);
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      sub: `${options.service}/${options.port}`,
      aud: 'portwarden-sidecar',
      jti: randomUUID(),
      lid: options.lid ?? `lic_${randomBytes(6).toString('hex')}`,
      iat,
      nbf: iat + Math.floor((options.nbfOffsetMs ?? 0) / 1000),
      exp: iat + Math.ceil((options.ttlMs ?? 3_600_000) / 1000),
      port: { number: options.number, protocol: 'tcp' },
      allow: options.allow ?? ['spiffe://corp/ns/default/*'],
      ...(options.env === undefined ? {} : { env: options.env }),
      ...options.claims,
    };
    const header = { alg: 'EdDSA', typ: 'portwarden-license+jwt', kid: key.kid, ...options.header };
    switch (options.forge) {
      case 'alg-none':
        return `${encode({ ...header, alg: 'none' })}.${encode(claims)}.`;
      case 'hs256-public-key': {
        const input = `${encode({ ...header, alg: 'HS256' })}.${encode(claims)}`;
        const secret = base64url.decode(key.publicJwk.x ?? '');
        return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      }
      case 'tampered': {
        const [head, , signature] = (await new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey)).split('.');
        return `${head}.${encode({ ...claims, allow: ['*', 'spiffe://attacker/*'], exp: (claims.exp as number) + 86_400 })}.${signature}`;
      }
      case 'foreign-key':
      case 'unknown-kid': {
        const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
        const kid = options.forge === 'unknown-kid' ? `unknown-${randomBytes(4).toString('hex')}` : key.kid;
        return new SignJWT(claims).setProtectedHeader({ ...header, kid }).sign(privateKey);
      }
      default:
        return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
    }
  }

  /** Mints and publishes a license for `service`; wakes that service's held polls. */
  async issue(options: MintOptions): Promise<IssuedLicense> {
    const lid = options.lid ?? `lic_${randomBytes(6).toString('hex')}`;
    const token = await this.mint({ ...options, lid });
    return this.publish(options.service, lid, token, { ...options, lid });
  }

  /** A new token (new jti, later times) for a published license; replaces the old one. */
  async renew(lid: string, overrides: Partial<MintOptions> = {}): Promise<IssuedLicense> {
    const license = this.#licenses.get(lid);
    if (!license) throw new Error(`no license ${lid}`);
    const options = { ...license.options, ...overrides, lid };
    return this.publish(license.service, lid, await this.mint(options), options);
  }

  /** Serves any token (a forged one, say) under `lid` in `service`'s listing. */
  publish(service: string, lid: string, token: string, options?: MintOptions): IssuedLicense {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}') as { jti?: string };
    const issued: IssuedLicense = { service, lid, jti: payload.jti ?? '', token, options: options ?? { service, port: '', number: 0 } };
    this.#licenses.set(lid, issued);
    this.#changed(service);
    return issued;
  }

  /** Revokes a license: it leaves the listing and appears in `revoked`; held polls wake at once. */
  revoke(lid: string): void {
    const license = this.#licenses.get(lid);
    if (!license) throw new Error(`no license ${lid}`);
    this.#licenses.delete(lid);
    // recorded under the index the change is about to get, before held polls are answered
    this.#revocations.push({ service: license.service, lid, index: this.#index + 1 });
    this.#changed(license.service);
  }

  /** Adds a new signing key (the old ones stay in the JWKS); returns its kid. */
  async rotateKey(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = `k${this.#keys.length + 1}-${randomBytes(4).toString('hex')}`;
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
    this.#keys.push({ kid, privateKey, publicJwk });
    return kid;
  }

  /** Outage: stops listening and cuts every connection, held polls included. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const waiter of this.#waiters) clearTimeout(waiter.timer);
    this.#waiters.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Listens again, on the same port once it has one. */
  async restart(): Promise<void> {
    if (this.#server) return;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    const server: Server = this.#tls ? createTlsServer(this.#tls, handler) : createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops for good. Idempotent. */
  async close(): Promise<void> {
    await this.stop();
  }

  #changed(service: string): number {
    const index = ++this.#index;
    this.#modified.set(service, index);
    for (const waiter of this.#waiters) if (waiter.service === service) this.#answer(waiter);
    return index;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.method === 'GET' && url.pathname === '/.well-known/jwks.json') {
      this.#jwksFetches++;
      json(res, 200, this.jwks);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/licenses') {
      this.#poll(req, res, url);
      return;
    }
    json(res, 404, { error: { code: 'not_found', message: 'no such route' } });
  }

  #poll(req: IncomingMessage, res: ServerResponse, url: URL): void {
    this.#polls++;
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const owner = bearer === undefined ? undefined : this.#bearer.get(bearer);
    if (owner === undefined) return json(res, 401, { error: { code: 'unauthenticated', message: 'unknown token' } });
    const service = url.searchParams.get('service') ?? '';
    if (service !== owner) return json(res, 403, { error: { code: 'forbidden', message: `token is scoped to ${owner}` } });
    if (this.#failure) return json(res, this.#failure.status, { error: { code: this.#failure.code, message: 'injected failure' } });
    const index = Number(url.searchParams.get('index') ?? '0');
    let waitMs: number;
    try {
      waitMs = Math.min(parseDuration(url.searchParams.get('wait') ?? '5m'), 600_000);
    } catch {
      return json(res, 400, { error: { code: 'bad_request', message: 'wait is not a duration' } });
    }
    if (!Number.isInteger(index) || index < 0) return json(res, 400, { error: { code: 'bad_request', message: 'index' } });
    const waiter: Waiter = { service, index, res, timer: setTimeout(() => this.#answer(waiter), waitMs) };
    if (index === 0 || (this.#modified.get(service) ?? 1) > index) return this.#answer(waiter);
    this.#waiters.add(waiter);
    res.on('close', () => {
      clearTimeout(waiter.timer);
      this.#waiters.delete(waiter);
    });
  }

  #answer(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.#waiters.delete(waiter);
    if (waiter.res.writableEnded || waiter.res.destroyed) return;
    const index = Math.max(this.#modified.get(waiter.service) ?? 1, 1);
    const licenses = [...this.#licenses.values()].filter((l) => l.service === waiter.service).map(({ lid, token }) => ({ lid, token }));
    const revoked = this.#revocations.filter((r) => r.service === waiter.service && r.index > waiter.index).map((r) => r.lid);
    json(waiter.res, 200, { index, licenses, revoked }, { 'x-portwarden-index': String(index) });
  }
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
