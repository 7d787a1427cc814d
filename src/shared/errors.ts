/**
 * Errors are values: every error portwarden raises carries a `code` from one closed union.
 * Callers, tests and the API match on `code`, never on the message. The API answers
 * `{ "error": { "code", "message" } }` with the HTTP status listed here.
 */
export const errorCodes = {
  usage: { status: 400, summary: 'a command was called with wrong arguments' },
  config_invalid: { status: 400, summary: 'a configuration file breaks the schema' },
  config_unreadable: { status: 400, summary: 'a configuration file cannot be read or parsed' },
  bad_request: { status: 400, summary: 'the request body or query is malformed or invalid' },
  unauthenticated: { status: 401, summary: 'no bearer token, or an unknown or revoked one' },
  forbidden: { status: 403, summary: 'the token is valid but its role or scope does not allow this' },
  not_found: { status: 404, summary: 'no such resource or route' },
  method_not_allowed: { status: 405, summary: 'the route exists but not for this method' },
  conflict: { status: 409, summary: 'the change conflicts with the current state' },
  request_timeout: { status: 408, summary: 'the request\'s headers or body did not arrive within the server\'s timeout' },
  body_too_large: { status: 413, summary: 'the request body exceeds the size limit' },
  unsupported_media_type: { status: 415, summary: 'the request body is not JSON' },
  license_invalid: { status: 422, summary: 'a license token failed verification' },
  license_max_lifetime: { status: 409, summary: 'the license reached its max lifetime and must be issued anew' },
  port_reserved: { status: 409, summary: 'the port number is reserved and never assigned' },
  port_out_of_range: { status: 409, summary: 'the port number is outside every range allowed for the request' },
  port_taken: { status: 409, summary: 'the port number is already assigned or cooling down' },
  range_exhausted: { status: 409, summary: 'no free number is left in the allowed ranges' },
  batch_out_of_window: { status: 422, summary: 'a telemetry batch was cut more than 7d before, or 1h ahead of, the authority\'s clock, so it cannot be counted exactly once' },
  rate_limited: { status: 429, summary: 'the token sent requests faster than its rate limit; retry after Retry-After' },
  too_many_watches: { status: 429, summary: 'the token (or all tokens together) holds as many blocking queries as allowed; retry after Retry-After' },
  listen_failed: { status: 500, summary: 'a listener could not bind its address (in use, not permitted)' },
  authority_unreachable: { status: 503, summary: 'the authority could not be reached' },
  authority_bad_response: { status: 502, summary: 'the authority answered outside its contract (status or body)' },
  unavailable: { status: 503, summary: 'the service is starting or shutting down' },
  internal: { status: 500, summary: 'an unexpected failure; the log has the details' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** The one base error. `cause` is kept when wrapping. */
export class PortwardenError extends Error {
  readonly code: ErrorCode;
  /** For a refusal that may succeed later (429): how long to wait first; the API sends it as `Retry-After`. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number | undefined }) {
    super(message, options);
    this.name = 'PortwardenError';
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** The HTTP status the API answers this error with. */
  get status(): number {
    return errorCodes[this.code].status;
  }

  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** True when `err` is a PortwardenError, optionally of the given code. */
export function isPortwardenError(err: unknown, code?: ErrorCode): err is PortwardenError {
  return err instanceof PortwardenError && (code === undefined || err.code === code);
}
