import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Dispatcher } from 'undici';

/**
 * The two parts of undici the sidecar uses, loaded from their own modules: the package's entry
 * also loads fetch, WebSocket, the caches, the mocks and the proxy agents (110 modules, about
 * 14 MiB of a fresh process's resident size, measured alone), which a sidecar never runs.
 * undici publishes no `exports` map, so these paths are reachable; the types are the entry's.
 */
const require = createRequire(import.meta.url);

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
export type Agent = UndiciAgent;

const dispatchRequest = require('undici/lib/api/api-request.js') as (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

/** The options of undici's `request`, with the dispatcher required. */
export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> &
  Partial<Pick<Dispatcher.RequestOptions, 'method'>> & { dispatcher: Dispatcher };

/** undici's `request(url, options)`: the URL split into origin and path as its entry does. */
export function request(url: URL | string, { dispatcher, ...options }: RequestOptions): Promise<Dispatcher.ResponseData> {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  return dispatchRequest.call(dispatcher, {
    ...options,
    origin: parsed.origin,
    path: parsed.search ? `${parsed.pathname}${parsed.search}` : parsed.pathname,
    method: options.method ?? (options.body ? 'PUT' : 'GET'),
  });
}
