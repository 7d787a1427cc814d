import { systemClock, type Clock } from '../../shared/clock.ts';
import type { SidecarConfig } from '../../shared/config/sidecar-schema.ts';
import type { Logger } from '../../shared/logger.ts';
import type { DispatcherSource } from '../authority/transport.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';
import { AuthorityPoster } from '../telemetry/authority-post.ts';
import { inventoryAnswerSchema, inventoryPath, locallyUnfronted, toInventoryReport, type InventoryListener } from './payload.ts';
import { readListeners, type Listener } from './proc-net.ts';

/** Whose judgement `portwarden_unregistered_listeners` shows. */
export type UnregisteredBasis = 'authority' | 'local';

/** The last inventory round, for `/status`. */
export interface InventoryStatus {
  /** ISO 8601. */
  at: string;
  listeners: number;
  unregistered: InventoryListener[];
  basis: UnregisteredBasis;
}

export interface InventoryReporterOptions {
  config: Pick<SidecarConfig, 'service' | 'authority' | 'inventory'>;
  metrics: Pick<SidecarMetrics, 'unregisteredListeners'>;
  logger: Logger;
  /** The sidecar's own listen, upstream and admin ports, read each round (port 0 binds, reloads). */
  ownPorts: () => Iterable<number>;
  clock?: Clock;
  /** The sidecar's shared authority transport (`AuthorityTransport`), asked per request; one is made from `config.authority` when absent. */
  transport?: DispatcherSource;
  /** Where listeners come from; `/proc/net` by default. */
  read?: () => Promise<Listener[]>;
}

/**
 * Every `inventory.interval`, reads the listening sockets of this network namespace and
 * reports them to the authority (`POST /v1/inventory`, see `inventoryReportSchema`). Sets
 * `portwarden_unregistered_listeners` to the authority's answer — listeners neither registered
 * nor fronted by a sidecar — and, while the authority gives none (unreachable, or without the
 * endpoint), to the local estimate of `locallyUnfronted`. `status().basis` says which.
 */
export class InventoryReporter {
  readonly #o: InventoryReporterOptions;
  readonly #log: Logger;
  readonly #poster: AuthorityPoster;
  readonly #clock: Clock;
  readonly #abort = new AbortController();
  #queue: Promise<unknown> = Promise.resolve();
  #busy = false;
  #timer: NodeJS.Timeout | undefined;
  #status: InventoryStatus | undefined;
  #readFailing = false;
  #closing: Promise<void> | undefined;

  constructor(options: InventoryReporterOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'inventory' });
    this.#clock = options.clock ?? systemClock;
    this.#poster = new AuthorityPoster({
      baseUrl: options.config.authority.url,
      tokenFile: options.config.authority.token_file,
      transport: options.transport,
      tls: options.config.authority,
    });
  }

  /** Reports now and then every interval; does nothing when `inventory.enabled` is false. */
  start(): void {
    if (!this.#o.config.inventory.enabled || this.#closing) return;
    void this.report();
    this.#timer = setInterval(() => {
      if (!this.#busy) void this.report();
    }, this.#o.config.inventory.interval);
    this.#timer.unref();
  }

  /** One round now; resolves to its outcome, undefined when the sockets could not be read. */
  report(): Promise<InventoryStatus | undefined> {
    if (this.#closing) return Promise.resolve(this.#status);
    const round = this.#queue.then(async () => {
      this.#busy = true;
      try {
        return await this.#round();
      } finally {
        this.#busy = false;
      }
    });
    this.#queue = round.catch(() => {});
    return round;
  }

  /** The last round's outcome. */
  status(): InventoryStatus | undefined {
    return this.#status;
  }

  /** Stops reporting, cuts a request in flight and releases its transport if it made one. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      this.#abort.abort();
      await this.#queue;
      await this.#poster.close();
    })();
    return this.#closing;
  }

  async #round(): Promise<InventoryStatus | undefined> {
    let listeners: Listener[];
    try {
      listeners = await (this.#o.read ?? readListeners)();
      this.#readFailing = false;
    } catch (err) {
      if (!this.#readFailing) this.#log.warn({ err }, 'cannot read listening sockets; inventory skipped');
      this.#readFailing = true;
      return undefined;
    }
    const ownPorts = new Set(this.#o.ownPorts());
    const report = toInventoryReport(this.#o.config.service, listeners, this.#clock.now(), ownPorts);
    const result = await this.#poster.post(inventoryPath, JSON.stringify(report), this.#abort.signal);
    const answer = result.outcome === 'acked' ? inventoryAnswerSchema.safeParse(result.body) : undefined;
    const status: InventoryStatus = answer?.success
      ? { at: report.sent_at, listeners: report.listeners.length, unregistered: answer.data.unregistered, basis: 'authority' }
      : { at: report.sent_at, listeners: report.listeners.length, unregistered: locallyUnfronted(report.listeners, ownPorts), basis: 'local' };
    if (status.basis === 'local' && this.#status?.basis !== 'local') {
      const why = result.outcome === 'acked' ? { status: result.status, problem: 'no unregistered list in the answer' } : { code: result.error.code, status: result.status };
      this.#log.info(why, 'authority gave no inventory answer; counting unregistered listeners locally');
    }
    this.#announce(status);
    this.#status = status;
    this.#o.metrics.unregisteredListeners.set(status.unregistered.length);
    return status;
  }

  // one log line when the set changes, not one per round
  #announce(status: InventoryStatus): void {
    const key = (s: InventoryStatus | undefined) => (s ? `${s.basis} ${s.unregistered.map((l) => `${l.protocol}/${l.address}/${l.port}`).join(',')}` : '');
    if (key(status) === key(this.#status) || status.unregistered.length === 0) return;
    this.#log.warn({ basis: status.basis, unregistered: status.unregistered }, 'listening sockets neither registered nor fronted by a sidecar');
  }
}
