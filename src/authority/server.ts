import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { BoundedLru } from '../shared/bounded-lru.ts';
import { formatHostPort } from '../shared/address.ts';
import { PortwardenError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { requireRouteAccess } from './http/access.ts';
import { defaultBodyLimit, readJsonBody, validate } from './http/body.ts';
import type { ApiRequest, ApiResponse, Method, Router } from './http/router.ts';
import type { AuthorityMetrics } from './metrics.ts';
import type { Principal, TokenService } from './tokens/service.ts';
import type { AuthorityConfig } from '../shared/config/authority-schema.ts';
import { answerClientError } from '../shared/http-client-errors.ts';
import type { TokenRateLimiter } from './limits/rate-limiter.ts';

/** Node's own default listen backlog; never less. */
const listenBacklogFloor = 511;

export interface ApiServerOptions {
  router: Router;
  tokens: TokenService;
  logger: Logger;
  metrics: AuthorityMetrics;
  /** `limits.*`: connections, timeouts; the per-token rate is `rateLimiter`'s. */
  limits: AuthorityConfig['limits'];
  rateLimiter: TokenRateLimiter;
  bodyLimit?: number;
  /** PEM files; with `client_ca` a client certificate signed by it is required as well. */
  tls?: { cert: string; key: string; client_ca?: string | undefined } | undefined;
}

/**
 * The authority's HTTP(S) JSON API: routing, bearer authentication, body limits, JSON errors
 * `{ "error": { "code", "message" } }` with the status of the code, and request metrics.
 *
 * What one caller may take (`limits`): connections beyond `max_connections` are closed as they
 * arrive; headers and bodies must arrive within their timeouts (408); each token's requests
 * pass a token bucket (429 `rate_limited` with `Retry-After`). Every refusal is counted in
 * `portwarden_authority_refused_requests_total{reason}`.
 */
export class ApiServer {
  readonly #o: ApiServerOptions;
  readonly #server: Server;
  readonly #scheme: 'http' | 'https';
  readonly #refusalsLogged = new BoundedLru<string, number>({ max: 1_000 });
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ApiServerOptions) {
    this.#o = options;
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    const { limits, metrics } = options;
    // a blocking query's wait is not the request's: requestTimeout ends once the body is in
    const timeouts = {
      headersTimeout: limits.headers_timeout,
      requestTimeout: limits.request_timeout,
      keepAliveTimeout: limits.keep_alive_timeout,
      // how often those timeouts are checked (Node's default, 30s, would let them run long)
      connectionsCheckingInterval: 1_000,
    };
    if (options.tls) {
      const { cert, key, client_ca } = options.tls;
      this.#scheme = 'https';
      this.#server = createHttpsServer(
        {
          ...timeouts,
          cert: readFileSync(cert),
          key: readFileSync(key),
          ...(client_ca ? { ca: readFileSync(client_ca), requestCert: true, rejectUnauthorized: true } : {}),
        },
        handler,
      );
    } else {
      this.#scheme = 'http';
      this.#server = createHttpServer(timeouts, handler);
    }
    this.#server.maxConnections = limits.max_connections;
    this.#server.on('drop', () => metrics.refusedRequests.inc({ reason: 'max_connections' }));
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      const reason = answerClientError(err, socket);
      metrics.refusedRequests.inc({ reason });
      options.logger.debug({ code: err.code, reason }, 'connection refused before routing');
    });
  }

  /** Binds and resolves with the base URL (the real port when `port` is 0). */
  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const onError = (cause: NodeJS.ErrnoException) =>
        reject(new PortwardenError('listen_failed', `cannot listen on ${formatHostPort({ host, port })}: ${cause.code ?? cause.message}`, { cause }));
      this.#server.once('error', onError);
      // a burst of sidecars connecting at once (all of them re-asking after a restart) overflows
      // Node's default backlog of 511 and the kernel drops or resets the rest: take as many as
      // may be open (the kernel caps it at net.core.somaxconn)
      const backlog = Math.max(listenBacklogFloor, this.#o.limits.max_connections);
      this.#server.listen({ port, host, backlog }, () => {
        this.#server.off('error', onError);
        const address = this.#server.address() as AddressInfo;
        resolve(`${this.#scheme}://${formatHostPort({ host, port: address.port })}`);
      });
    });
  }

  /**
   * Stops accepting, lets requests in flight finish until `deadlineMs`, then cuts the
   * connections that remain. Idempotent.
   */
  close(deadlineMs: number): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      if (this.#inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (this.#drained = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs))),
        ]);
        clearTimeout(timer);
      }
      this.#server.closeAllConnections();
      await closed;
    })();
    return this.#closing;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { router, metrics, logger } = this.#o;
    const started = performance.now();
    const method = req.method ?? 'GET';
    let route = 'unmatched';
    let tokenId: string | undefined;
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    this.#inFlight++;
    try {
      const url = new URL(req.url ?? '/', 'http://authority');
      const match = router.match(method, url.pathname);
      if (!match.route) {
        if (match.allowed.length > 0) {
          res.setHeader('allow', match.allowed.join(', '));
          throw new PortwardenError('method_not_allowed', `${method} is not allowed on ${url.pathname}; use ${match.allowed.join(' or ')}`);
        }
        throw new PortwardenError('not_found', `no route ${url.pathname}`);
      }
      route = match.route.path;
      let principal: Principal | undefined;
      if (match.route.access !== 'public') {
        principal = await this.#o.tokens.authenticate(req.headers.authorization);
        tokenId = principal?.id;
        if (!principal) {
          res.setHeader('www-authenticate', 'Bearer realm="portwarden"');
          throw new PortwardenError('unauthenticated', 'a valid bearer token is required');
        }
        requireRouteAccess(match.route.access, principal, method as Method);
        const waitMs = this.#o.rateLimiter.take(principal.id);
        if (waitMs > 0) throw new PortwardenError('rate_limited', `this token sent more than ${this.#o.limits.requests_per_second} requests a second (limits.requests_per_second); retry in ${waitMs}ms`, { retryAfterMs: waitMs });
      }
      let bodyRead: Promise<unknown> | undefined;
      const apiRequest: ApiRequest = {
        method: method as Method,
        route,
        params: match.params,
        query: url.searchParams,
        headers: req.headers,
        principal,
        signal: abort.signal,
        body: async (schema) => validate(schema, await (bodyRead ??= readJsonBody(req, match.route.bodyLimit ?? this.#o.bodyLimit ?? defaultBodyLimit))),
        queryAs: (schema) => {
          const query: Record<string, string> = {};
          for (const [key, value] of url.searchParams) {
            if (key in query) throw new PortwardenError('bad_request', `${key}: given more than once`);
            query[key] = value;
          }
          return validate(schema, query, 'query');
        },
      };
      this.#send(res, await match.route.handler(apiRequest));
    } catch (err) {
      const error = err instanceof PortwardenError ? err : new PortwardenError('internal', 'an unexpected failure; the log has the details', { cause: err });
      if (error.code === 'internal') logger.error({ err, method, route }, 'request failed');
      if (error.code === 'rate_limited' || error.code === 'too_many_watches') {
        metrics.refusedRequests.inc({ reason: error.code });
        this.#logRefusal(tokenId, { method, route, code: error.code });
      }
      const headers = error.retryAfterMs === undefined ? undefined : { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) };
      this.#send(res, { status: error.status, body: error.toJSON(), ...(headers ? { headers } : {}) });
    } finally {
      metrics.requests.inc({ route, method, status: String(res.statusCode) });
      metrics.requestDuration.observe({ route }, (performance.now() - started) / 1000);
      logger.debug({ method, route, status: res.statusCode }, 'request');
      if (--this.#inFlight === 0) this.#drained?.();
    }
  }

  /** One line per token and minute: a caller over its limit must not flood the log as well. */
  #logRefusal(tokenId: string | undefined, fields: Record<string, unknown>): void {
    const key = tokenId ?? '';
    const now = performance.now();
    if (now - (this.#refusalsLogged.get(key) ?? -Infinity) < 60_000) return;
    this.#refusalsLogged.set(key, now);
    this.#o.logger.warn({ ...fields, token: tokenId }, 'request refused: a limit was reached (counted in portwarden_authority_refused_requests_total)');
  }

  #send(res: ServerResponse, response: ApiResponse): void {
    if (res.headersSent || res.destroyed) return;
    res.statusCode = response.status ?? 200;
    for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
    if (this.#closing) res.setHeader('connection', 'close');
    if (response.text !== undefined) {
      if (!res.hasHeader('content-type')) res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(response.text);
      return;
    }
    res.setHeader('content-type', 'application/json; charset=utf-8');
    if (!res.hasHeader('cache-control')) res.setHeader('cache-control', 'no-store');
    res.end(`${JSON.stringify(response.body ?? {})}\n`);
  }
}
