// The authority's /v1 API, same origin, with the signed-in token as the bearer. No cookies are
// sent or set (credentials: 'omit'), so no other site can make this browser act for the person.

/** An API error as the authority answers it: `{ "error": { "code", "message" } }` and the status. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export class Api {
  /** @param {string} token */
  constructor(token) {
    this.token = token;
  }

  /**
   * @template T
   * @param {string} path
   * @param {{ signal?: AbortSignal }} [options]
   * @returns {Promise<T>}
   */
  get(path, options = {}) {
    return this.#call('GET', path, undefined, options.signal);
  }

  /**
   * @template T
   * @param {string} path
   * @param {unknown} [body]
   * @returns {Promise<T>}
   */
  post(path, body = {}) {
    return this.#call('POST', path, body, undefined);
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} body
   * @param {AbortSignal | undefined} signal
   */
  async #call(method, path, body, signal) {
    /** @type {Record<string, string>} */
    const headers = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body), credentials: 'omit', cache: 'no-store', ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError(0, 'authority_unreachable', 'the authority could not be reached');
    }
    const text = await res.text();
    /** @type {any} */
    let json;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new ApiError(res.status, 'authority_bad_response', `the authority answered ${res.status} without JSON`);
    }
    if (!res.ok) throw new ApiError(res.status, json?.error?.code ?? 'internal', json?.error?.message ?? `HTTP ${res.status}`);
    return json;
  }
}

/**
 * `/v1/ports/{id}` for a port id.
 * @param {string} id
 * @param {string} [action]
 */
export function portPath(id, action) {
  return `/v1/ports/${encodeURIComponent(id)}${action ? `/${action}` : ''}`;
}
