import { errorCodes, PortwardenError, type ErrorCode } from '../../shared/errors.ts';
import { ownTransport, sharedTransport, type AuthorityTls, type DispatcherSource, type TransportHandle } from '../authority/transport.ts';
import { BearerToken } from '../authority/bearer-token.ts';

/**
 * What became of one POST: `acked` (2xx), `retry` (the authority was unreachable, busy or
 * refused the token — the same body may succeed later) or `rejected` (the authority will never
 * accept this body; resending it would block everything behind it).
 */
export type PostResult =
  | { readonly outcome: 'acked'; readonly status: number; readonly body: unknown }
  | { readonly outcome: 'retry'; readonly status?: number; readonly error: PortwardenError }
  | { readonly outcome: 'rejected'; readonly status: number; readonly error: PortwardenError };

// statuses that say "this body is wrong", not "try later"
const rejectingStatuses = new Set([400, 409, 413, 415, 422]);

export interface AuthorityPosterOptions {
  /** `authority.url`. */
  baseUrl: string;
  /** `authority.token_file`; re-read when it changes or after a 401, so a rotated token is picked up. */
  tokenFile: string;
  /** The sidecar's shared authority transport, asked per request and left open on close; without it one is made from `tls` and closed here. */
  transport?: DispatcherSource;
  /** `authority.ca`, `authority.cert`, `authority.key`: used when no `transport` is given. */
  tls?: AuthorityTls;
  /** Per attempt: headers and body each. */
  timeoutMs?: number;
}

/** JSON POSTs to the authority with the sidecar's bearer token, classified for retrying. */
export class AuthorityPoster {
  readonly #options: AuthorityPosterOptions;
  readonly #token: BearerToken;
  readonly #transport: TransportHandle;
  #closing: Promise<void> | undefined;

  constructor(options: AuthorityPosterOptions) {
    this.#options = options;
    this.#token = new BearerToken(options.tokenFile);
    this.#transport = options.transport === undefined ? ownTransport(options.tls ?? {}) : sharedTransport(options.transport);
  }

  /** POSTs `body` (JSON text) to `path` under the authority URL. Never throws. */
  async post(path: string, body: string, signal?: AbortSignal): Promise<PostResult> {
    let token: string;
    try {
      token = await this.#token.get();
    } catch (err) {
      return { outcome: 'retry', error: err as PortwardenError };
    }
    const url = this.#options.baseUrl.replace(/\/+$/, '') + path;
    const timeout = this.#options.timeoutMs ?? 10_000;
    try {
      const response = await this.#transport.request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: signal ?? null,
      });
      const text = await response.body.text();
      const status = response.statusCode;
      const parsed = parseJson(text);
      if (status >= 200 && status < 300) return { outcome: 'acked', status, body: parsed };
      if (status === 401) this.#token.invalidate();
      const error = errorFromBody(status, parsed);
      return rejectingStatuses.has(status) ? { outcome: 'rejected', status, error } : { outcome: 'retry', status, error };
    } catch (cause) {
      // an unreadable authority.ca/cert/key of a transport of its own is read again next time
      if (cause instanceof PortwardenError) return { outcome: 'retry', error: cause };
      return { outcome: 'retry', error: new PortwardenError('authority_unreachable', `POST ${path} failed`, { cause }) };
    }
  }

  /** Closes the transport if this poster made it. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#transport.close();
    return this.#closing;
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// the authority answers { error: { code, message } }; keep its code when it is one of ours
function errorFromBody(status: number, body: unknown): PortwardenError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' && error.code in errorCodes ? (error.code as ErrorCode) : codeForStatus(status);
  const message = typeof error?.message === 'string' ? error.message : `the authority answered ${status}`;
  return new PortwardenError(code, message);
}

function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'body_too_large';
  if (status >= 500) return 'authority_unreachable';
  return 'bad_request';
}
