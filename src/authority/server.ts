import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { formatHostPort } from '../shared/address.ts';
import { PortwardenError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { requireRouteAccess } from './http/access.ts';
import { defaultBodyLimit, readJsonBody, validate } from './http/body.ts';
import type { ApiRequest, ApiResponse, Method, Router } from './http/router.ts';
import type { AuthorityMetrics } from './metrics.ts';
import type { Principal, TokenService } from './tokens/service.ts';

export interface ApiServerOptions {
  router: Router;
  tokens: TokenService;
  logger: Logger;
  metrics: AuthorityMetrics;
  bodyLimit?: number;
  /** PEM files; with `client_ca` a client certificate signed by it is required as well. */
  tls?: { cert: string; key: string; client_ca?: string | undefined } | undefined;
}

/**
 * The authority's HTTP(S) JSON API: routing, bearer authentication, body limits, JSON errors
 * `{ "error": { "code", "message" } }` with the status of the code, and request metrics.
 */
export class ApiServer {
  readonly #o: ApiServerOptions;
  readonly #server: Server;
  readonly #scheme: 'http' | 'https';
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ApiServerOptions) {
    this.#o = options;
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    if (options.tls) {
      const { cert, key, client_ca } = options.tls;
      this.#scheme = 'https';
      this.#server = createHttpsServer(
        {
          cert: readFileSync(cert),
          key: readFileSync(key),
          ...(client_ca ? { ca: readFileSync(client_ca), requestCert: true, rejectUnauthorized: true } : {}),
        },
        handler,
      );
    } else {
      this.#scheme = 'http';
      this.#server = createHttpServer(handler);
    }
  }

  /** Binds and resolves with the base URL (the real port when `port` is 0). */
  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const onError = (cause: NodeJS.ErrnoException) =>
        reject(new PortwardenError('listen_failed', `cannot listen on ${formatHostPort({ host, port })}: ${cause.code ?? cause.message}`, { cause }));
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
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
        if (!principal) {
          res.setHeader('www-authenticate', 'Bearer realm="portwarden"');
          throw new PortwardenError('unauthenticated', 'a valid bearer token is required');
        }
        requireRouteAccess(match.route.access, principal, method as Method);
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
      this.#send(res, { status: error.status, body: error.toJSON() });
    } finally {
      metrics.requests.inc({ route, method, status: String(res.statusCode) });
      metrics.requestDuration.observe({ route }, (performance.now() - started) / 1000);
      logger.debug({ method, route, status: res.statusCode }, 'request');
      if (--this.#inFlight === 0) this.#drained?.();
    }
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
