import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { formatDuration } from '../../shared/duration.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { ownTransport, sharedTransport, type AuthorityTls, type DispatcherSource, type TransportHandle } from './transport.ts';
import { BearerToken } from './bearer-token.ts';

/** One blocking-query answer: the service's current tokens and the lids revoked since the index asked for. */
export interface LicenseListing {
  index: number;
  licenses: { lid: string; token: string }[];
  revoked: string[];
}

const listingSchema = z.object({
  index: z.number().int().min(0),
  licenses: z.array(z.object({ lid: z.string(), token: z.string().max(64 * 1024) })),
  revoked: z.array(z.string()).default([]),
});

/** An answer larger than this is not a license listing. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** How long past `wait` a blocking query may take before the authority counts as hung. */
const WAIT_MARGIN_MS = 15_000;
/** Connect, headers and body limits for the quick JWKS request. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface AuthorityClientOptions {
  /** `authority.url`; a path prefix is kept. */
  url: string;
  tokenFile: string;
  /** `authority.ca`, `authority.cert`, `authority.key`: used when no `transport` is given. */
  tls?: AuthorityTls;
  /** The sidecar's shared authority transport (see `AuthorityTransport`), asked per request; the client does not close it. */
  transport?: DispatcherSource;
}

/**
 * The sidecar's HTTP client for the authority's JWKS and blocking license query, on the shared
 * authority transport (or, when none is given, on one of its own made from `tls`). Fails with
 * `authority_unreachable` (network, TLS, timeout, 5xx), `unauthenticated` (401, and the token
 * file is re-read next time), `forbidden` (403), `rate_limited` or `too_many_watches` (429,
 * with `retryAfterMs` from `Retry-After`) or `authority_bad_response`; an abort by the caller's
 * signal is rethrown.
 */
export class AuthorityClient {
  readonly #base: URL;
  readonly #token: BearerToken;
  readonly #transport: TransportHandle;
  #closed = false;

  constructor(options: AuthorityClientOptions) {
    this.#base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.#token = new BearerToken(options.tokenFile);
    this.#transport = options.transport === undefined ? ownTransport(options.tls ?? {}) : sharedTransport(options.transport);
  }

  /** GET /.well-known/jwks.json; the parsed body, checked by the key store. */
  async fetchJwks(signal: AbortSignal): Promise<unknown> {
    return this.#get('.well-known/jwks.json', signal, REQUEST_TIMEOUT_MS, undefined);
  }

  /** GET /v1/licenses?service&index&wait: held by the authority until a change after `index`, or `wait`. */
  async pollLicenses(query: { service: string; index: number; waitMs: number; signal: AbortSignal }): Promise<LicenseListing> {
    const path = `v1/licenses?${new URLSearchParams({ service: query.service, index: String(query.index), wait: formatDuration(query.waitMs) })}`;
    const token = await this.#token.get();
    const body = await this.#get(path, query.signal, query.waitMs + WAIT_MARGIN_MS, token);
    const parsed = listingSchema.safeParse(body);
    if (!parsed.success) throw new PortwardenError('authority_bad_response', `license listing breaks the contract: ${parsed.error.issues[0]?.message ?? ''}`);
    return parsed.data;
  }

  /** Closes the transport this client made, if it made one (in-flight requests are aborted by their signals first). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#transport.close();
  }

  async #get(path: string, signal: AbortSignal, timeoutMs: number, token: string | undefined): Promise<unknown> {
    if (this.#closed) throw new PortwardenError('unavailable', 'authority client closed');
    const url = new URL(path, this.#base);
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#transport.request(url, {
        method: 'GET',
        headers: token === undefined ? { accept: 'application/json' } : { accept: 'application/json', authorization: `Bearer ${token}` },
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        headersTimeout: timeoutMs,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      });
    } catch (cause) {
      if (signal.aborted) throw signal.reason ?? cause;
      if (cause instanceof PortwardenError) throw cause;
      throw new PortwardenError('authority_unreachable', `authority unreachable: ${describe(cause)}`, { cause });
    }
    const text = await readBody(response.body, signal);
    if (response.statusCode === 200) {
      try {
        return JSON.parse(text) as unknown;
      } catch (cause) {
        throw new PortwardenError('authority_bad_response', `${url.pathname} answered with a body that is not JSON`, { cause });
      }
    }
    const message = errorMessage(text) ?? `HTTP ${response.statusCode}`;
    if (response.statusCode === 401) {
      this.#token.invalidate();
      throw new PortwardenError('unauthenticated', `authority refused the sidecar token: ${message}`);
    }
    if (response.statusCode === 403) throw new PortwardenError('forbidden', `authority forbids this request: ${message}`);
    if (response.statusCode === 429) {
      // over a limit of the authority's: come back when it says, not sooner
      const code = errorCode(text) === 'too_many_watches' ? 'too_many_watches' : 'rate_limited';
      throw new PortwardenError(code, `authority refused for now: ${message}`, { retryAfterMs: retryAfterMs(response.headers['retry-after']) });
    }
    if (response.statusCode >= 500) throw new PortwardenError('authority_unreachable', `authority failed: ${message}`);
    throw new PortwardenError('authority_bad_response', `${url.pathname} answered ${response.statusCode}: ${message}`);
  }
}

async function readBody(body: Dispatcher.ResponseData['body'], signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        body.destroy();
        throw new PortwardenError('authority_bad_response', `answer larger than ${MAX_BODY_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (cause) {
    if (cause instanceof PortwardenError) throw cause;
    if (signal.aborted) throw signal.reason ?? cause;
    throw new PortwardenError('authority_unreachable', `authority connection failed mid-answer: ${describe(cause)}`, { cause });
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `Retry-After` in seconds (or an HTTP date) as milliseconds; 1s when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined) return 1_000;
  if (/^\d+$/.test(text.trim())) return Math.min(Number(text.trim()), 3_600) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? 1_000 : Math.min(Math.max(at - now, 0), 3_600_000);
}

function errorCode(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

function errorMessage(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = parsed.error ?? {};
    return typeof code === 'string' ? `${code}${typeof message === 'string' ? `: ${message}` : ''}` : undefined;
  } catch {
    return undefined;
  }
}

function describe(err: unknown): string {
  const { code, message } = (err ?? {}) as { code?: string; message?: string };
  return code ?? message ?? String(err);
}
