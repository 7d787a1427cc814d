// The signed-in token lives in this tab's session storage only: never a cookie, never local
// storage, never a URL. Closing the tab signs out.

import { Api, ApiError } from './api.js';

const key = 'portwarden.token';

/** @returns {string | null} */
export function storedToken() {
  return sessionStorage.getItem(key);
}

export function forgetToken() {
  sessionStorage.removeItem(key);
}

/**
 * Asks the authority who `token` is and keeps it when the console may use it: admin and
 * viewer tokens sign in, a sidecar token (one service's credential) is refused.
 * @param {string} token
 * @returns {Promise<{ ok: true, api: Api, me: import('./api-types.js').Whoami } | { ok: false, message: string }>}
 */
export async function signIn(token) {
  const api = new Api(token.trim());
  try {
    /** @type {import('./api-types.js').Whoami} */
    const me = await api.get('/v1/whoami');
    if (me.role === 'sidecar') {
      return {
        ok: false,
        message: `This is a sidecar token (service ${me.service ?? 'unknown'}): it only acts for its sidecar. Sign in with an admin token, or a read-only viewer token.`,
      };
    }
    sessionStorage.setItem(key, api.token);
    return { ok: true, api, me };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return { ok: false, message: 'The authority does not know this token, or it was revoked.' };
    if (err instanceof ApiError) return { ok: false, message: `${err.code}: ${err.message}` };
    throw err;
  }
}
