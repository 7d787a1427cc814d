import { Agent, type Dispatcher } from 'undici';
import { readClientTls, type ClientTlsPem } from '../shared/client-tls.ts';
import { ConfigError } from '../shared/config/load.ts';
import type { SidecarConfig } from '../shared/config/sidecar-schema.ts';
import { PortwardenError } from '../shared/errors.ts';

/** `authority.ca`, `authority.cert` and `authority.key`. */
export type AuthorityTls = Pick<SidecarConfig['authority'], 'ca' | 'cert' | 'key'>;

/** Idle connections are kept this long (a shorter Keep-Alive hint from the authority wins). */
const KEEP_ALIVE_MS = 60_000;

const tlsKeys = ['ca', 'cert', 'key'] as const;

/**
 * The sidecar's one connection pool to the authority, for everything it sends there: the
 * license long-poll, the JWKS, telemetry batches and inventory reports. Made once at start from
 * `authority.ca` (for https, the only CA trusted) and `authority.cert` + `authority.key` (the
 * client certificate an authority with `tls.client_ca` requires). The files are read once:
 * replacing them takes a restart, and `changedFiles()` tells a reload that this is needed.
 */
export class AuthorityTransport {
  readonly dispatcher: Agent;
  readonly #tls: AuthorityTls;
  readonly #pem: ClientTlsPem;
  #closing: Promise<void> | undefined;

  private constructor(tls: AuthorityTls, pem: ClientTlsPem) {
    this.#tls = tls;
    this.#pem = pem;
    this.dispatcher = new Agent({ keepAliveTimeout: KEEP_ALIVE_MS, connect: pem });
  }

  /** Reads and checks the files; throws a ConfigError naming each bad key (`authority.cert: ...`). */
  static async open(tls: AuthorityTls): Promise<AuthorityTransport> {
    const { pem, problems } = await readClientTls(tls);
    if (problems.length > 0) {
      const unreadable = problems.some((problem) => problem.message.startsWith('cannot read'));
      throw new ConfigError(
        unreadable ? 'config_unreadable' : 'config_invalid',
        problems.map((problem) => ({ file: problem.file || 'configuration', line: 0, key: `authority.${problem.which}`, message: problem.message })),
      );
    }
    return new AuthorityTransport(tls, pem);
  }

  /** The keys (`authority.cert`, ...) whose file no longer holds what the connections are made with. */
  async changedFiles(): Promise<string[]> {
    const { pem } = await readClientTls(this.#tls);
    return tlsKeys.filter((key) => pem[key] !== this.#pem[key]).map((key) => `authority.${key}`);
  }

  /** Closes the pool once the requests in it are done (their owners abort or finish them first). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.dispatcher.close();
    return this.#closing;
  }
}

/** A component's hold on a transport: the shared one (left open) or one of its own (closed with it). */
export interface TransportHandle {
  dispatcher(): Promise<Dispatcher>;
  close(): Promise<void>;
}

/** The shared transport's dispatcher, which the component does not close. */
export function sharedTransport(dispatcher: Dispatcher): TransportHandle {
  return { dispatcher: () => Promise.resolve(dispatcher), close: () => Promise.resolve() };
}

/**
 * For a component built without the shared transport (tests, tools): one made from the same
 * settings on first use, so `authority.ca` and the client certificate apply all the same. A
 * failed read is retried on the next use rather than kept.
 */
export function ownTransport(tls: AuthorityTls): TransportHandle {
  let opening: Promise<AuthorityTransport> | undefined;
  let closed = false;
  return {
    dispatcher() {
      if (closed) return Promise.reject(new PortwardenError('unavailable', 'authority transport closed'));
      if (opening === undefined) {
        const attempt = AuthorityTransport.open(tls);
        attempt.catch(() => {
          if (opening === attempt) opening = undefined;
        });
        opening = attempt;
      }
      return opening.then((transport) => transport.dispatcher);
    },
    async close() {
      closed = true;
      const transport = await opening?.catch(() => undefined);
      opening = undefined;
      await transport?.close();
    },
  };
}
