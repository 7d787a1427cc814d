import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../shared/clock.ts';
import type { AuthorityConfig } from '../shared/config/authority-schema.ts';
import type { Logger } from '../shared/logger.ts';
import type { AuthorityContext } from './context.ts';
import { DrillSweeper } from './drills/sweeper.ts';
import { DrillService } from './drills/service.ts';
import { Router, type Route } from './http/router.ts';
import { ensureActiveKey } from './keys/rotation.ts';
import { LicenseService } from './licenses/service.ts';
import { checkAuditAtStart } from './audit/start-check.ts';
import { createAuthorityMetrics } from './metrics.ts';
import { StoreReadiness } from './ops/store-readiness.ts';
import { TokenRateLimiter } from './limits/rate-limiter.ts';
import { WatchSlots } from './limits/watch-slots.ts';
import { registerOf } from './register/service.ts';
import { RegisterSweeper } from './register/sweeper.ts';
import { Renewer } from './licenses/renewer.ts';
import { routeFactories } from './routes.ts';
import { ApiServer } from './server.ts';
import { LicenseSigner } from './keys/signer.ts';
import type { Store } from './store/store.ts';
import { TokenService } from './tokens/service.ts';
import { WatchHub } from './changes/watch-hub.ts';

export interface AuthorityOptions {
  config: AuthorityConfig;
  logger: Logger;
  registry: Registry;
  clock?: Clock;
  /** Reads `PORTWARDEN_ADMIN_TOKEN`. */
  env?: NodeJS.ProcessEnv;
  /** How often the renewer sweeps, in real time (default 5s). */
  renewIntervalMs?: number;
  /** How often ended transition windows are looked for, in real time (default: as the renewer). */
  registerSweepIntervalMs?: number;
  /** How often drills whose window ended are restored, in real time (default 1s). */
  drillSweepIntervalMs?: number;
  /** Routes beyond the built-in ones. */
  routes?: readonly ((ctx: AuthorityContext) => Route[])[];
}

/**
 * The license authority: store, signing keys, licenses, tokens, renewer, blocking queries and
 * the API, composed and closed in one place.
 *
 * Shutdown order: not ready → stop accepting → release blocking queries (they answer with the
 * current state) → let requests finish until `shutdown_timeout`, then cut them → stop the
 * renewer and the register sweeper → close the store.
 */
export class Authority {
  readonly url: string;
  /** Where the bootstrap admin token is, when it came from a file. */
  readonly adminTokenFile: string | undefined;
  readonly context: AuthorityContext;
  readonly #server: ApiServer;
  readonly #renewer: Renewer;
  readonly #sweeper: RegisterSweeper;
  readonly #drills: DrillSweeper;
  readonly #state: { ready: boolean };
  readonly #stopHearing: () => void;
  #closing: Promise<void> | undefined;

  private constructor(parts: { url: string; adminTokenFile: string | undefined; context: AuthorityContext; server: ApiServer; renewer: Renewer; drills: DrillSweeper; sweeper: RegisterSweeper; state: { ready: boolean }; stopHearing: () => void }) {
    this.url = parts.url;
    this.adminTokenFile = parts.adminTokenFile;
    this.context = parts.context;
    this.#server = parts.server;
    this.#renewer = parts.renewer;
    this.#sweeper = parts.sweeper;
    this.#drills = parts.drills;
    this.#state = parts.state;
    this.#stopHearing = parts.stopHearing;
  }

  /** Opens the store, makes the first key and admin token if needed, and starts serving. */
  static async start(options: AuthorityOptions): Promise<Authority> {
    const { config, registry } = options;
    const clock = options.clock ?? systemClock;
    const logger = options.logger.child({ component: 'authority' });
    const store = await openStore(config, clock, logger);
    const hub = new WatchHub();
    // another authority sharing the store committed a change: wake this one's blocking queries too
    const stopHearing = store.onChange((service, index) => hub.notify(service, index));
    let server: ApiServer | undefined;
    try {
      await store.transaction((tx) => ensureActiveKey(tx, clock));
      const tokens = new TokenService({ store, clock, envAdminToken: options.env?.PORTWARDEN_ADMIN_TOKEN || undefined });
      const bootstrap = await tokens.bootstrap(config.data_dir, logger);
      const metrics = createAuthorityMetrics(registry);
      await checkAuditAtStart(store, config.audit.verify_on_start, logger, metrics.auditChainIntact);
      const licenses = new LicenseService({ store, hub, clock, signer: new LicenseSigner(config.issuer), policy: config.licenses });
      const state = { ready: false };
      const context: AuthorityContext = {
        config,
        clock,
        logger,
        store,
        hub,
        metrics,
        licenses,
        tokens,
        storeReadiness: new StoreReadiness({ store, logger, gauge: metrics.storeUp }),
        watchSlots: new WatchSlots({ total: config.limits.max_watches, perToken: config.limits.max_watches_per_token }),
        get ready() {
          return state.ready;
        },
      };
      const router = new Router();
      for (const factory of [...routeFactories, ...(options.routes ?? [])]) router.add(...factory(context));
      const rateLimiter = new TokenRateLimiter({ ratePerSecond: config.limits.requests_per_second, burst: config.limits.burst, clock });
      server = new ApiServer({ router, tokens, logger, metrics, tls: config.tls, limits: config.limits, rateLimiter });
      const url = await server.listen(config.listen.host, config.listen.port);
      const renewer = new Renewer({
        store,
        licenses,
        clock,
        logger,
        metrics,
        rotateEveryMs: config.keys.rotate_every,
        intervalMs: options.renewIntervalMs ?? 5_000,
      });
      renewer.start();
      const exclusive: Store['exclusive'] = (name, fn) => store.exclusive(name, fn);
      const sweeper = new RegisterSweeper({
        register: registerOf(context),
        exclusive,
        logger,
        intervalMs: options.registerSweepIntervalMs ?? options.renewIntervalMs ?? 5_000,
      });
      sweeper.start();
      const drills = new DrillSweeper({
        drills: new DrillService({ store, hub, clock, licenses, issuer: config.issuer, logger }),
        exclusive,
        logger,
        intervalMs: options.drillSweepIntervalMs ?? 1_000,
      });
      drills.start();
      state.ready = true;
      warnIfShared(config.data_dir, logger);
      logger.info({ url, issuer: config.issuer, data_dir: config.data_dir, storage: store.target, admin_token_file: bootstrap.file ?? null }, 'authority listening');
      return new Authority({ url, adminTokenFile: bootstrap.file, context, server, renewer, drills, sweeper, state, stopHearing });
    } catch (err) {
      stopHearing();
      await server?.close(0);
      await hub.close();
      await store.close();
      throw err;
    }
  }

  /** Graceful shutdown (see the class comment). Idempotent and safe to call twice at once. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state.ready = false;
      const serverClosed = this.#server.close(this.context.config.shutdown_timeout);
      this.#stopHearing();
      await this.context.hub.close();
      await serverClosed;
      await this.#renewer.close();
      await this.#sweeper.close();
      await this.#drills.close();
      await this.context.store.close();
      this.context.logger.info('authority stopped');
    })();
    return this.#closing;
  }
}

/**
 * The store `storage` names: PostgreSQL shared with other authorities when `storage.url` is
 * set (`data_dir` then holds only the admin token file), else SQLite in `data_dir`. Each backend
 * loads only when chosen: an authority on SQLite never loads the PostgreSQL driver.
 */
async function openStore(config: AuthorityConfig, clock: Clock, logger: Logger): Promise<Store> {
  if (!config.storage.url) {
    const { SqliteStore } = await import('./store/sqlite/store.ts');
    return SqliteStore.open({ dataDir: config.data_dir, clock });
  }
  await mkdir(config.data_dir, { recursive: true, mode: 0o700 });
  const { PostgresStore } = await import('./store/postgres/store.ts');
  return PostgresStore.open({ url: config.storage.url, clock, logger, maxConnections: config.storage.pool_size });
}

/**
 * The data directory holds the signing keys and the admin token. Files portwarden creates there
 * are 0600 and a directory it creates is 0700, but a directory that already existed keeps its
 * mode: say so when others may list it, and leave the decision to the operator.
 */
function warnIfShared(dataDir: string, logger: Logger): void {
  const mode = statSync(dataDir).mode & 0o777;
  if ((mode & 0o077) !== 0) logger.warn({ data_dir: dataDir, mode: `0${mode.toString(8)}` }, 'data_dir is accessible to other users; chmod 700 it');
}
