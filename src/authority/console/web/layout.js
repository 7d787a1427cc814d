// The frame around every page: the top bar (who is signed in, whether the page is live), the
// navigation with its counts, and the pieces pages share (headers, badges, empty states).

import { commandLine, h } from './dom.js';

/** @typedef {import('./api-types.js').Snapshot} Snapshot */

/** The pages in the navigation, in order. */
const navItems = /** @type {const} */ ([
  { key: 'overview', label: 'Overview', hash: '#/' },
  { key: 'ports', label: 'Ports', hash: '#/ports' },
  { key: 'approvals', label: 'Approvals', hash: '#/approvals' },
  { key: 'licenses', label: 'Licenses', hash: '#/licenses' },
  { key: 'stale', label: 'Stale ports', hash: '#/stale' },
]);

/**
 * The counts the navigation shows beside its entries: what waits for someone.
 * @param {Snapshot} snapshot
 */
export function navCounts(snapshot) {
  return {
    overview: 0,
    ports: 0,
    approvals: snapshot.ports.filter((port) => port.state === 'requested').length,
    licenses: snapshot.licenses.at_risk.length,
    stale: snapshot.stale.size,
  };
}

/**
 * The whole frame, with `page` in it.
 * @param {{ me: import('./api-types.js').Whoami, active: string, counts: Record<string, number>, live: HTMLElement, onSignOut: () => void, page: Node }} o
 */
export function frame(o) {
  const who = o.me.name ?? o.me.id;
  return h(
    'div',
    { class: 'frame' },
    h(
      'header',
      { class: 'topbar' },
      h('a', { class: 'brand', href: '#/' }, h('img', { src: '/ui/favicon.svg', alt: '', width: 22, height: 22 }), h('span', {}, 'portwarden'), h('span', { class: 'brand-sub' }, 'console')),
      h('div', { class: 'topbar-right' }, o.live, h('span', { class: `role role-${o.me.role}`, title: `token ${o.me.id}` }, o.me.role, h('span', { class: 'role-name' }, who)), h('button', { class: 'button ghost', type: 'button', onclick: o.onSignOut, 'data-test': 'sign-out' }, 'Sign out')),
    ),
    h(
      'nav',
      { class: 'sidenav', 'aria-label': 'Pages' },
      navItems.map((item) =>
        h(
          'a',
          { href: item.hash, class: item.key === o.active ? 'nav-item active' : 'nav-item', 'aria-current': item.key === o.active ? 'page' : false, dataset: { nav: item.key } },
          h('span', {}, item.label),
          (o.counts[item.key] ?? 0) > 0 ? h('span', { class: `nav-count nav-count-${item.key}` }, o.counts[item.key] ?? 0) : null,
        ),
      ),
      h('div', { class: 'nav-foot' }, o.me.role === 'viewer' ? h('p', { class: 'readonly-note' }, 'Read-only: viewer token') : null),
    ),
    h('main', { class: 'page', id: 'page' }, o.page),
  );
}

/**
 * A page's title line, with what it is about and actions on the right.
 * @param {string} title
 * @param {import('./dom.js').Children} [subtitle]
 * @param {import('./dom.js').Children} [actions]
 */
export function pageHeader(title, subtitle, actions) {
  return h('div', { class: 'page-header' }, h('div', {}, h('h1', {}, title), subtitle ? h('p', { class: 'subtitle' }, subtitle) : null), actions ? h('div', { class: 'page-actions' }, actions) : null);
}

/**
 * What a page shows when there is nothing to list: why, and the command that would change it.
 * @param {string} title
 * @param {string} text
 * @param {string[]} [commands]
 */
export function emptyState(title, text, commands = []) {
  return h('div', { class: 'empty', dataset: { test: 'empty' } }, h('p', { class: 'empty-title' }, title), h('p', { class: 'empty-text' }, text), commands.map((command) => h('div', {}, commandLine(command))));
}

/**
 * A coloured word for a state.
 * @param {string} state
 * @param {string} [label]
 */
export function badge(state, label = state) {
  return h('span', { class: `badge badge-${state}`, dataset: { state } }, label);
}

/**
 * A panel with a heading.
 * @param {string} title
 * @param {import('./dom.js').Children} content
 * @param {import('./dom.js').Children} [aside]
 */
export function section(title, content, aside) {
  return h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, title), aside ? h('div', { class: 'panel-aside' }, aside) : null), content);
}

/**
 * Who did something: the token's name when it has one (its id on hover), else the id
 * (`system` for the authority's own work, `policy` for automatic approval).
 * @param {Map<string, string>} actors
 * @param {string | null} id
 */
export function actor(actors, id) {
  if (id === null) return h('span', { class: 'muted' }, '—');
  const name = actors.get(id);
  return h('span', { class: 'actor', title: `token ${id}` }, name ?? id);
}

/**
 * `service/name`, linked to the port's page.
 * @param {{ id: string, service: string, name: string }} port
 */
export function portLink(port) {
  return h('a', { href: `#/ports/${encodeURIComponent(port.id)}`, class: 'port-link' }, h('span', { class: 'svc' }, port.service), '/', h('strong', {}, port.name));
}
