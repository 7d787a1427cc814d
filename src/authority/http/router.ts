import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { Principal } from '../tokens/service.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Who may call a route: anyone (`public`), an admin token (`admin`; a viewer token too when the
 * method is GET), or any valid token (`token`: the handler checks the sidecar's service scope).
 * A viewer token is refused every method but GET. See `access.ts`.
 */
export type Access = 'public' | 'admin' | 'token';

/** What a handler gets. `principal` is set on every route that is not `public`. */
export interface ApiRequest {
  method: Method;
  /** The route pattern, e.g. `/v1/licenses/{lid}`. */
  route: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  principal: Principal | undefined;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Reads the JSON body (an empty body reads as `{}`) and validates it; 400 names the key. */
  body<S extends z.ZodType>(schema: S): Promise<z.output<S>>;
  /** Validates the query string (single values) against `schema`; 400 names the key. */
  queryAs<S extends z.ZodType>(schema: S): z.output<S>;
}

/** What a handler answers: JSON `body`, or preformatted `text` (metrics). */
export interface ApiResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  text?: string;
}

export interface Route {
  method: Method;
  /** `/v1/licenses/{lid}/renew`: `{name}` matches one path segment. */
  path: string;
  access: Access;
  /** Bytes of request body this route accepts, when not the server's default (`defaultBodyLimit`). */
  bodyLimit?: number;
  handler(req: ApiRequest): Promise<ApiResponse>;
}

type Match = { route: Route; params: Record<string, string> } | { route: undefined; allowed: Method[] };

/**
 * A small exact-segment router. Routes are plain objects, so a resource adds its routes by
 * exporting a `Route[]` factory and listing it in `routes/index.ts`.
 */
export class Router {
  readonly #routes: { route: Route; segments: string[] }[] = [];

  add(...routes: Route[]): this {
    for (const route of routes) {
      const segments = route.path.split('/').slice(1);
      const clash = this.#routes.find((r) => r.route.method === route.method && r.route.path === route.path);
      if (clash) throw new Error(`route ${route.method} ${route.path} is registered twice`);
      this.#routes.push({ route, segments });
    }
    return this;
  }

  get routes(): readonly Route[] {
    return this.#routes.map((r) => r.route);
  }

  /** The route for `method` and `pathname`, or the methods the path allows (empty: no such path). */
  match(method: string, pathname: string): Match {
    const parts = pathname.split('/').slice(1);
    const allowed: Method[] = [];
    for (const { route, segments } of this.#routes) {
      const params = matchSegments(segments, parts);
      if (!params) continue;
      if (route.method === method) return { route, params };
      allowed.push(route.method);
    }
    return { route: undefined, allowed };
  }
}

function matchSegments(segments: string[], parts: string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of segments.entries()) {
    const part = parts[i] ?? '';
    if (segment.startsWith('{') && segment.endsWith('}')) {
      if (part === '') return undefined;
      let value: string;
      try {
        value = decodeURIComponent(part);
      } catch {
        return undefined;
      }
      params[segment.slice(1, -1)] = value;
    } else if (segment !== part) {
      return undefined;
    }
  }
  return params;
}
