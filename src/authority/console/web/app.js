// The console's entry point: sign-in, the frame, routing by the URL's fragment (`#/ports/12`,
// never with the token in it), loading what a page needs, and redrawing on every change the
// authority announces.

import { ApiError } from './api.js';
import { h, swap } from './dom.js';
import { frame, navCounts } from './layout.js';
import { tickCountdowns } from './license-parts.js';
import { ChangeFollower } from './live.js';
import { forgetToken, signIn, storedToken } from './session.js';
import { loadSnapshot, untilNextBoundary } from './snapshot.js';
import { approvalsView } from './view-approvals.js';
import { licensesView } from './view-licenses.js';
import { overviewView } from './view-overview.js';
import { portView } from './view-port.js';
import { portsView } from './view-ports.js';
import { signInPage } from './view-signin.js';
import { staleView } from './view-stale.js';

/** @typedef {import('./api-types.js').Snapshot} Snapshot */
/** @typedef {import('./api-types.js').ViewContext} ViewContext */

/**
 * The page for a fragment, and its parameters.
 * @param {string} hash
 * @returns {{ view: import('./api-types.js').View<any>, params: Record<string, string> }}
 */
function route(hash) {
  const path = hash.replace(/^#/, '') || '/';
  const port = /^\/ports\/([^/]+)$/.exec(path);
  if (port?.[1]) return { view: portView, params: { id: decodeURIComponent(port[1]) } };
  const pages = /** @type {Record<string, import('./api-types.js').View<any>>} */ ({ '/ports': portsView, '/approvals': approvalsView, '/licenses': licensesView, '/stale': staleView });
  return { view: pages[path] ?? overviewView, params: {} };
}

class ConsoleApp {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    /** @type {{ api: import('./api.js').Api, me: import('./api-types.js').Whoami } | null} */
    this.session = null;
    /** @type {ChangeFollower | null} */
    this.follower = null;
    /** @type {Snapshot | null} */
    this.snapshot = null;
    /** @type {import('./api-types.js').Policy | null} */
    this.policy = null;
    /** What the current page loaded, and for which fragment. */
    /** @type {{ hash: string, data: unknown } | null} */
    this.loaded = null;
    this.live = h('span', { class: 'live reconnecting', dataset: { test: 'live' } }, 'connecting…');
    this.toasts = h('div', { class: 'toasts', 'aria-live': 'polite' });
    /** Set while a load runs; a change arriving meanwhile loads once more after it. */
    /** @type {Promise<void> | null} */
    this.loading = null;
    this.again = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.boundary = undefined;
  }

  async start() {
    document.body.appendChild(this.toasts);
    window.addEventListener('hashchange', () => void this.refresh());
    // the map is drawn to the page's width: draw again when that changes, not the height
    let width = window.innerWidth;
    window.addEventListener(
      'resize',
      debounce(() => {
        if (window.innerWidth === width) return;
        width = window.innerWidth;
        this.rerender();
      }, 150),
    );
    setInterval(tickCountdowns, 1000);
    const token = storedToken();
    if (token === null) return this.showSignIn(null);
    const result = await signIn(token);
    if (!result.ok) return this.signOut(result.message);
    this.begin(result);
  }

  /** @param {string | null} message */
  showSignIn(message) {
    document.title = 'Sign in · portwarden';
    swap(this.root, signInPage({ message, onSignedIn: (session) => this.begin(session) }));
  }

  /** @param {{ api: import('./api.js').Api, me: import('./api-types.js').Whoami }} session */
  begin(session) {
    this.session = session;
    this.follower = new ChangeFollower(session.api, {
      onChange: () => void this.refresh(),
      onStatus: (status) => this.setLive(status),
      onUnauthorized: () => this.signOut('The token stopped working (revoked?): sign in again.'),
    });
    void this.follower.run();
    void this.refresh();
  }

  /** @param {string | null} message */
  signOut(message) {
    clearTimeout(this.boundary);
    this.follower?.close();
    this.follower = null;
    this.session = null;
    this.snapshot = null;
    this.policy = null;
    this.loaded = null;
    forgetToken();
    this.showSignIn(message);
  }

  /** @param {'live' | 'reconnecting'} status */
  setLive(status) {
    // back after an outage: the authority may have restarted with another policy
    if (status === 'live' && this.live.classList.contains('reconnecting')) this.policy = null;
    this.live.className = `live ${status}`;
    this.live.textContent = status === 'live' ? 'live' : 'reconnecting…';
    this.live.title = status === 'live' ? 'Changes show as they happen' : 'The authority is not answering; retrying';
  }

  /** Loads the snapshot and the page's own data, then draws; one load at a time. */
  refresh() {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        await this.#load();
      } while (this.again);
    })().finally(() => (this.loading = null));
    return this.loading;
  }

  async #load() {
    const session = this.session;
    if (!session) return;
    const hash = location.hash;
    const { view, params } = route(hash);
    try {
      this.policy ??= /** @type {import('./api-types.js').Policy} */ (await session.api.get('/v1/ports/policy'));
      this.snapshot = await loadSnapshot(session.api, this.policy);
      this.#loadAtNextBoundary(this.snapshot);
      const data = await view.load(this.#context(params));
      if (this.session !== session || location.hash !== hash) return;
      this.loaded = { hash, data };
      this.rerender();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return this.signOut('The token stopped working (revoked?): sign in again.');
      this.#showError(err, view.nav);
    }
  }

  /**
   * Loads again just after the next moment time alone changes what is shown (see
   * `untilNextBoundary`), when that comes before the blocking query's next answer.
   * @param {Snapshot} snapshot
   */
  #loadAtNextBoundary(snapshot) {
    clearTimeout(this.boundary);
    const next = untilNextBoundary(snapshot, Date.now());
    if (next !== null && next <= 30_000) this.boundary = setTimeout(() => void this.refresh(), next + 200);
  }

  /** Draws the current page from what is loaded. */
  rerender() {
    if (!this.session || !this.snapshot || !this.loaded) return;
    const { view, params } = route(this.loaded.hash);
    const ctx = this.#context(params);
    document.title = `${view.title(ctx)} · portwarden`;
    swap(this.root, frame({ me: this.session.me, active: view.nav, counts: navCounts(this.snapshot), live: this.live, onSignOut: () => this.signOut(null), page: view.render(this.loaded.data, ctx) }));
  }

  /**
   * @param {unknown} err
   * @param {string} nav
   */
  #showError(err, nav) {
    if (!this.session) return;
    const message = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
    const page = h('div', { class: 'error-page' }, h('h1', {}, err instanceof ApiError && err.status === 404 ? 'Not found' : 'Could not load this page'), h('p', { class: 'notice danger', dataset: { test: 'load-error' } }, message), h('p', {}, h('a', { href: '#/' }, 'Back to the overview')));
    const counts = this.snapshot ? navCounts(this.snapshot) : {};
    swap(this.root, frame({ me: this.session.me, active: nav, counts, live: this.live, onSignOut: () => this.signOut(null), page }));
  }

  /**
   * @param {Record<string, string>} params
   * @returns {ViewContext}
   */
  #context(params) {
    const session = /** @type {NonNullable<ConsoleApp['session']>} */ (this.session);
    return {
      api: session.api,
      me: session.me,
      snapshot: /** @type {Snapshot} */ (this.snapshot),
      params,
      rerender: () => this.rerender(),
      refresh: () => this.refresh(),
      notify: (message, kind = 'ok') => this.notify(message, kind),
    };
  }

  /**
   * @param {string} message
   * @param {'ok' | 'error'} kind
   */
  notify(message, kind) {
    const toast = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
    this.toasts.appendChild(toast);
    setTimeout(() => toast.remove(), kind === 'error' ? 8000 : 4000);
  }
}

/**
 * @param {() => void} fn
 * @param {number} ms
 */
function debounce(fn, ms) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

const root = document.getElementById('console');
if (root) void new ConsoleApp(root).start();
