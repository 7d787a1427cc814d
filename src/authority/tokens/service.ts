import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../shared/clock.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { SingleFlight } from '../../shared/single-flight.ts';
import { appendAudit, systemActor, type Actor } from '../audit/log.ts';
import type { Store, StoreTx } from '../store/store.ts';
import type { TokenRole, TokenRow } from '../store/tokens.ts';

/** Who is calling: a verified API token. */
export interface Principal extends Actor {
  name: string | null;
  role: TokenRole;
  /** The one service a `sidecar` token may read and report for. */
  service: string | null;
}

/** A token as `GET /v1/tokens` shows it; the secret is never stored, only its sha256. */
export interface TokenView {
  id: string;
  name: string | null;
  role: TokenRole;
  service: string | null;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
}

export const adminTokenFile = 'admin.token';
/** The principal of `PORTWARDEN_ADMIN_TOKEN`. */
const envAdmin: Principal = { id: 'env-admin', name: 'PORTWARDEN_ADMIN_TOKEN', role: 'admin', service: null };

const sha256 = (text: string) => createHash('sha256').update(text).digest();

export function tokenView(row: TokenRow): TokenView {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    service: row.service,
    created_at: new Date(row.createdAt).toISOString(),
    created_by: row.createdBy,
    revoked_at: row.revokedAt === null ? null : new Date(row.revokedAt).toISOString(),
  };
}

/**
 * API credentials. A token reads `pw.<id>.<secret>`: the id finds the row, then the secret's
 * sha256 is compared in constant time. 32 random bytes make a salt-free hash safe.
 */
export class TokenService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #envAdminHash: Buffer | undefined;
  /** Token lookups in flight: the replicas of a service share one token, and ask in bursts. */
  readonly #lookups = new SingleFlight<string, TokenRow | undefined>();

  constructor(options: { store: Store; clock: Clock; envAdminToken?: string | undefined }) {
    this.#store = options.store;
    this.#clock = options.clock;
    if (options.envAdminToken !== undefined) {
      if (options.envAdminToken.length < 16) throw new PortwardenError('config_invalid', 'PORTWARDEN_ADMIN_TOKEN must be at least 16 characters');
      this.#envAdminHash = sha256(options.envAdminToken);
    }
  }

  async create(actor: Actor, input: { role: TokenRole; service?: string | undefined; name?: string | undefined }): Promise<{ token: string; view: TokenView }> {
    return this.#store.transaction((tx) => this.#insert(tx, actor, input));
  }

  async #insert(tx: StoreTx, actor: Actor, input: { role: TokenRole; service?: string | undefined; name?: string | undefined }): Promise<{ token: string; view: TokenView }> {
    if (input.role === 'sidecar' && !input.service) throw new PortwardenError('bad_request', 'service: a sidecar token needs the service it may act for');
    if (input.role !== 'sidecar' && input.service) throw new PortwardenError('bad_request', `service: ${input.role === 'admin' ? 'an admin' : 'a viewer'} token is not scoped to a service`);
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const row: TokenRow = {
      id,
      name: input.name ?? null,
      role: input.role,
      service: input.service ?? null,
      hash: sha256(secret),
      createdAt: this.#clock.now(),
      createdBy: actor.id,
      revokedAt: null,
    };
    await tx.tokens.insert(row);
    await appendAudit(tx, this.#clock, actor, { action: 'token.created', target: `token/${id}`, after: tokenView(row) });
    return { token: `pw.${id}.${secret}`, view: tokenView(row) };
  }

  async list(): Promise<TokenView[]> {
    return (await this.#store.read((tx) => tx.tokens.list())).map(tokenView);
  }

  async revoke(actor: Actor, id: string): Promise<TokenView> {
    try {
      return await this.#revoke(actor, id);
    } finally {
      // a lookup begun before the revocation committed is not joined by requests after it
      this.#lookups.forget(id);
    }
  }

  #revoke(actor: Actor, id: string): Promise<TokenView> {
    return this.#store.transaction(async (tx) => {
      const before = await tx.tokens.get(id);
      if (!before) throw new PortwardenError('not_found', `no token ${id}`);
      if (before.revokedAt !== null) throw new PortwardenError('conflict', `token ${id} is already revoked`);
      const row = { ...before, revokedAt: this.#clock.now() };
      await tx.tokens.revoke(id, row.revokedAt);
      await appendAudit(tx, this.#clock, actor, { action: 'token.revoked', target: `token/${id}`, before: tokenView(before), after: tokenView(row) });
      return tokenView(row);
    });
  }

  /** The principal of an `Authorization: Bearer …` header, or undefined for a missing, unknown or revoked token. */
  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const presented = match?.[1];
    if (presented === undefined) return undefined;
    if (this.#envAdminHash && timingSafeEqual(sha256(presented), this.#envAdminHash)) return envAdmin;
    const [prefix, id, secret, ...rest] = presented.split('.');
    if (prefix !== 'pw' || !id || !secret || rest.length > 0) return undefined;
    const row = await this.#lookups.run(id, () => this.#store.read((tx) => tx.tokens.get(id)));
    if (!row || row.revokedAt !== null || !timingSafeEqual(sha256(secret), row.hash)) return undefined;
    return { id: row.id, name: row.name, role: row.role, service: row.service };
  }

  /**
   * First start: unless `PORTWARDEN_ADMIN_TOKEN` is set, make an admin token when none is
   * active and write it to `<dataDir>/admin.token` (0600). Returns where the admin token is.
   * The token itself is never logged.
   *
   * The check and the insert are one write transaction, so of several authorities starting
   * together on one PostgreSQL only the first makes a token; the others find it in the store
   * but not in their own `data_dir`, and say so: authorities sharing a store should share
   * `PORTWARDEN_ADMIN_TOKEN` instead.
   */
  async bootstrap(dataDir: string, logger: Logger): Promise<{ source: 'env' | 'file' | 'elsewhere'; file?: string }> {
    if (this.#envAdminHash) {
      logger.info('admin token taken from PORTWARDEN_ADMIN_TOKEN');
      return { source: 'env' };
    }
    const file = join(dataDir, adminTokenFile);
    const created = await this.#store.transaction(async (tx) =>
      (await tx.tokens.countActiveAdmins()) === 0 ? this.#insert(tx, systemActor, { role: 'admin', name: 'bootstrap' }) : undefined,
    );
    if (created) {
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      await writeFile(file, `${created.token}\n`, { mode: 0o600 });
      await chmod(file, 0o600); // the mode applies only when the file is new
      logger.info({ file }, 'admin token written; read it from the file');
      return { source: 'file', file };
    }
    if (existsSync(file)) {
      logger.info({ file }, 'admin token file (from first start)');
      return { source: 'file', file };
    }
    logger.warn(
      { file },
      'the store already holds an admin token but this data_dir has none: another authority sharing the store made it; set the same PORTWARDEN_ADMIN_TOKEN on every authority',
    );
    return { source: 'elsewhere' };
  }
}
