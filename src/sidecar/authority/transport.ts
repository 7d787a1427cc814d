import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { Dispatcher } from 'undici';
import { Agent, request, type RequestOptions } from './undici-parts.ts';
import { readClientTls, type ClientTlsPem } from '../../shared/client-tls.ts';
import { ConfigError, type ConfigIssue } from '../../shared/config/config-error.ts';
import type { SidecarConfig } from '../../shared/config/sidecar-schema.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';
import { watchTlsFiles } from '../identity/tls/watch.ts';

/** `authority.ca`, `authority.cert` and `authority.key`. */
export type AuthorityTls = Pick<SidecarConfig['authority'], 'ca' | 'cert' | 'key'>;

/** Idle connections are kept this long (a shorter Keep-Alive hint from the authority wins). */
const KEEP_ALIVE_MS = 60_000;

const tlsKeys = ['ca', 'cert', 'key'] as const;

/** What a transport that reloads needs; without them it keeps the files it was opened with unless `reload()` is called. */
export interface AuthorityTransportOptions {
  /** Where reloads are logged: applied, or refused with every problem named. */
  logger: Logger;
  metrics: Pick<SidecarMetrics, 'authorityTlsReloadsTotal' | 'authorityTlsCertExpiry'>;
  /** Re-read the files when they change (default true); `reload()` (SIGHUP) works either way. */
  watch?: boolean;
  /** Quiet time after a change before re-reading, so a cert and key written one after the other load together (default 100ms). */
  debounceMs?: number;
}

/**
 * The sidecar's connection pool to the authority, for everything it sends there: the license
 * long-poll, the JWKS, telemetry batches and inventory reports. Made at start from
 * `authority.ca` (for https, the only CA trusted) and `authority.cert` + `authority.key` (the
 * client certificate an authority with `tls.client_ca` requires), and re-read when those files
 * change (with `watch`) or on `reload()` (SIGHUP). New material that checks out gets a new
 * undici Agent for the requests that start from then on; the old Agent is closed, which lets
 * its requests in flight (a long-poll included: it ends within `authority.refresh`) finish
 * first. A broken new file is refused, logged and counted, and the old Agent stays.
 *
 * A new Agent rather than new options on the old one: its connections and its TLS session
 * cache belong to the old certificate, and a resumed session would present the old identity.
 */
export class AuthorityTransport {
  readonly #tls: AuthorityTls;
  readonly #log: Logger | undefined;
  readonly #metrics: AuthorityTransportOptions['metrics'] | undefined;
  readonly #retiring = new Set<Promise<void>>();
  #pem: ClientTlsPem;
  #current: Agent;
  #watch: { close(): void } | undefined;
  #reloading: Promise<unknown> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(tls: AuthorityTls, pem: ClientTlsPem, options: AuthorityTransportOptions | undefined) {
    this.#tls = tls;
    this.#pem = pem;
    this.#current = agentFor(pem);
    this.#log = options?.logger.child({ component: 'authority-transport' });
    this.#metrics = options?.metrics;
    this.#observeExpiry();
  }

  /** The client certificate's notAfter on its gauge, so an expiring one alerts before the authority refuses it. */
  #observeExpiry(): void {
    if (this.#pem.cert === undefined) return;
    const notAfter = new X509Certificate(this.#pem.cert).validToDate.getTime();
    this.#metrics?.authorityTlsCertExpiry.set(Math.floor(notAfter / 1000));
  }

  /** Reads and checks the files; throws a ConfigError naming each bad key (`authority.cert: ...`). */
  static async open(tls: AuthorityTls, options?: AuthorityTransportOptions): Promise<AuthorityTransport> {
    const checked = await readChecked(tls);
    if ('issues' in checked) throw new ConfigError(checked.code, checked.issues);
    const transport = new AuthorityTransport(tls, checked.pem, options);
    const files = tlsKeys.map((key) => tls[key]).filter((file) => file !== undefined);
    if (options && options.watch !== false && files.length > 0) {
      const logger = transport.#log ?? options.logger;
      transport.#watch = watchTlsFiles({ files, debounceMs: options.debounceMs ?? 100, logger, onChange: () => void transport.reload() });
    }
    return transport;
  }

  /** The dispatcher for a request starting now. Ask for it per request: a reload replaces it. */
  dispatcher(): Agent {
    return this.#current;
  }

  /** Re-reads the files now; resolves to what happened. Never throws: a refusal keeps the old dispatcher. */
  reload(): Promise<'applied' | 'unchanged' | 'refused'> {
    const run = this.#reloading.then(() => this.#reload());
    this.#reloading = run.catch(() => undefined);
    return run;
  }

  /** Closes the current dispatcher and any old one still finishing its requests, once those are done. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#watch?.close();
      await this.#reloading;
      await Promise.all([this.#current.close(), ...this.#retiring]);
    })();
    return this.#closing;
  }

  async #reload(): Promise<'applied' | 'unchanged' | 'refused'> {
    if (this.#closed) return 'unchanged';
    const checked = await readChecked(this.#tls);
    if (this.#closed) return 'unchanged';
    if ('issues' in checked) {
      this.#metrics?.authorityTlsReloadsTotal.inc({ result: 'refused' });
      const issues = checked.issues.map((issue) => `${issue.key}: ${issue.message}`);
      this.#log?.error({ issues }, 'new authority TLS files refused; requests keep using the old ones');
      return 'refused';
    }
    const { pem } = checked;
    const changed = tlsKeys.filter((key) => pem[key] !== this.#pem[key]);
    if (changed.length === 0) return 'unchanged';
    const previous = this.#current;
    this.#pem = pem;
    this.#current = agentFor(pem);
    this.#retire(previous);
    this.#metrics?.authorityTlsReloadsTotal.inc({ result: 'applied' });
    this.#observeExpiry();
    const leaf = pem.cert === undefined ? undefined : new X509Certificate(pem.cert);
    this.#log?.info(
      { keys: changed.map((key) => `authority.${key}`), serial: leaf?.serialNumber, notAfter: leaf?.validToDate.toISOString() },
      'authority TLS files applied; new requests use them',
    );
    return 'applied';
  }

  // close() waits for the requests in flight: every one has a deadline (the long-poll's is
  // authority.refresh plus a margin), so nothing needs cutting
  #retire(agent: Agent): void {
    const closing: Promise<void> = agent.close().then(
      () => this.#log?.debug('previous authority connections closed'),
      (err: unknown) => this.#log?.warn({ err }, 'closing the previous authority connections failed'),
    ).finally(() => this.#retiring.delete(closing));
    this.#retiring.add(closing);
  }
}

function agentFor(pem: ClientTlsPem): Agent {
  return new Agent({ keepAliveTimeout: KEEP_ALIVE_MS, connect: { ...pem } });
}

/**
 * The files' text, or every problem with them as a ConfigIssue: what `readClientTls` checks
 * (the CA and certificate parse, the key parses and belongs to the certificate), and that
 * OpenSSL takes the three together.
 */
async function readChecked(tls: AuthorityTls): Promise<{ pem: ClientTlsPem } | { code: 'config_unreadable' | 'config_invalid'; issues: ConfigIssue[] }> {
  const { pem, problems } = await readClientTls(tls);
  if (problems.length > 0) {
    const unreadable = problems.some((problem) => problem.message.startsWith('cannot read'));
    return {
      code: unreadable ? 'config_unreadable' : 'config_invalid',
      issues: problems.map((problem) => ({ file: problem.file || 'configuration', line: 0, key: `authority.${problem.which}`, message: problem.message })),
    };
  }
  try {
    createSecureContext({ ...pem });
  } catch (err) {
    const which = pem.cert === undefined ? 'ca' : 'cert';
    const message = `cannot be used for TLS (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    return { code: 'config_invalid', issues: [{ file: tls[which] ?? 'configuration', line: 0, key: `authority.${which}`, message }] };
  }
  return { pem };
}

/** undici's `request` options, less the dispatcher: the transport picks that. */
export type AuthorityRequestOptions = Omit<RequestOptions, 'dispatcher'>;

/** A component's hold on a transport: the shared one (left open) or one of its own (closed with it). */
export interface TransportHandle {
  /** undici's `request` on the transport's dispatcher of the moment, taken as the request starts. */
  request(url: URL | string, options: AuthorityRequestOptions): Promise<Dispatcher.ResponseData>;
  close(): Promise<void>;
}

/** Whatever hands out the dispatcher of the moment: the sidecar's shared `AuthorityTransport`. */
export type DispatcherSource = Pick<AuthorityTransport, 'dispatcher'>;

/**
 * The shared transport, which the component does not close. The dispatcher is taken in the
 * same tick as the request is dispatched, so a reload cannot hand it one that is already closing.
 */
export function sharedTransport(source: DispatcherSource): TransportHandle {
  return {
    request: (url, options) => request(url, { ...options, dispatcher: source.dispatcher() }),
    close: () => Promise.resolve(),
  };
}

/**
 * For a component built without the shared transport (tests, tools): one made from the same
 * settings on first use, so `authority.ca` and the client certificate apply all the same. A
 * failed read is retried on the next use rather than kept. It does not watch the files.
 */
export function ownTransport(tls: AuthorityTls): TransportHandle {
  let opening: Promise<AuthorityTransport> | undefined;
  let closed = false;
  const open = (): Promise<AuthorityTransport> => {
    if (closed) return Promise.reject(new PortwardenError('unavailable', 'authority transport closed'));
    if (opening === undefined) {
      const attempt = AuthorityTransport.open(tls);
      attempt.catch(() => {
        if (opening === attempt) opening = undefined;
      });
      opening = attempt;
    }
    return opening;
  };
  return {
    async request(url, options) {
      const transport = await open();
      return request(url, { ...options, dispatcher: transport.dispatcher() });
    },
    async close() {
      closed = true;
      const transport = await opening?.catch(() => undefined);
      opening = undefined;
      await transport?.close();
    },
  };
}
