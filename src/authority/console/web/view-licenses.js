// Every license: expiry as a live countdown, the ones at risk (inside the renew window with no
// renewal coming) first and highlighted, and per license its timeline and the revoke step.

import { timeline } from './audit.js';
import { commandLine, h } from './dom.js';
import { exact, relative } from './format.js';
import { badge, emptyState, pageHeader, section } from './layout.js';
import { countdown, revokeLicense } from './license-parts.js';
import { table } from './table.js';

/** @typedef {import('./api-types.js').License} License */

const ui = {
  text: '',
  /** @type {'active' | 'all' | 'risk'} */
  show: 'active',
  /** The license whose timeline is open. */
  /** @type {string | null} */
  open: null,
  /** @type {import('./table.js').SortState} */
  sort: { key: 'expires', dir: 1 },
};

/** @type {import('./api-types.js').View<import('./api-types.js').AuditEntry[]>} */
export const licensesView = {
  nav: 'licenses',
  title: () => 'Licenses',
  async load(ctx) {
    if (ui.open === null) return [];
    /** @type {{ entries: import('./api-types.js').AuditEntry[] }} */
    const trail = await ctx.api.get(`/v1/audit?target=${encodeURIComponent(`license/${ui.open}`)}`);
    return trail.entries;
  },
  render(trail, ctx) {
    const { licenses, at_risk } = ctx.snapshot.licenses;
    const risky = new Set(at_risk);
    const admin = ctx.me.role === 'admin';
    const header = pageHeader('Licenses', [`${licenses.filter((l) => l.state === 'active').length} active, `, h('strong', { class: risky.size > 0 ? 'risk-text' : '' }, `${risky.size} at risk`), ' (inside the renew window, no renewal coming).']);
    if (licenses.length === 0) return h('div', {}, header, emptyState('No licenses yet', 'A license lets the callers it allows through a port’s sidecar. Issue one, or request a port with --license:', ['portwarden licenses issue --service billing --port api --number 20001 --allow spiffe://corp/ns/web/sa/frontend']));
    const needle = ui.text.trim().toLowerCase();
    const rows = licenses.filter(
      (l) =>
        (ui.show === 'all' || (ui.show === 'risk' ? risky.has(l.lid) : l.state === 'active')) &&
        (needle === '' || [l.lid, l.sub, String(l.port.number), l.env ?? '', ...l.allow].some((field) => field.toLowerCase().includes(needle))),
    );
    const open = ui.open === null ? undefined : licenses.find((l) => l.lid === ui.open);
    /** @type {import('./table.js').Column<License>[]} */
    const columns = [
      { key: 'sub', label: 'Port', cell: (l) => h('span', { class: 'port-link' }, h('span', { class: 'svc' }, l.service), '/', h('strong', {}, l.port_name)), sort: (l) => l.sub },
      { key: 'number', label: 'Number', class: 'num', cell: (l) => `${l.port.number}/${l.port.protocol}`, sort: (l) => l.port.number },
      { key: 'env', label: 'Env', cell: (l) => (l.env ? h('span', { class: 'chip' }, l.env) : h('span', { class: 'muted' }, 'any')), sort: (l) => l.env ?? '' },
      { key: 'state', label: 'State', cell: (l) => (risky.has(l.lid) ? badge('at-risk', 'at risk') : badge(l.state)), sort: (l) => (risky.has(l.lid) ? 'a' : l.state) },
      { key: 'expires', label: 'Expires', cell: (l) => (l.state === 'active' ? countdown(l.expires_at) : h('span', { class: 'muted', title: exact(l.expires_at) }, l.revoked_at ? `revoked ${relative(l.revoked_at)}` : `expired ${relative(l.expires_at)}`)), sort: (l) => (l.state === 'active' ? l.expires_at : `~${l.expires_at}`) },
      { key: 'renew', label: 'Renew', class: 'nowrap', cell: (l) => [l.renew, h('span', { class: 'muted' }, ` · ${l.renewals}×`)], sort: (l) => l.renewals },
      { key: 'allow', label: 'Allows', class: 'allow', cell: (l) => l.allow.join(', ') },
      { key: 'access', label: 'Last access', cell: (l) => h('span', { title: exact(l.last_access_at) }, relative(l.last_access_at)), sort: (l) => l.last_access_at ?? '' },
      { key: 'lid', label: 'License', class: 'mono', cell: (l) => h('span', { title: l.lid }, `${l.lid.slice(0, 12)}…`), sort: (l) => l.lid },
    ];
    return h(
      'div',
      {},
      header,
      h(
        'div',
        { class: 'filters' },
        h('input', { class: 'input grow', type: 'search', placeholder: 'Filter by port, number, license id, identity', value: ui.text, 'aria-label': 'filter', dataset: { focus: 'licenses-text' }, oninput: (/** @type {Event} */ e) => ((ui.text = /** @type {HTMLInputElement} */ (e.target).value), ctx.rerender()) }),
        h(
          'div',
          { class: 'segmented' },
          /** @type {const} */ ([['active', 'Active'], ['risk', `At risk (${risky.size})`], ['all', 'All']]).map(([key, label]) => h('button', { type: 'button', class: ui.show === key ? 'seg active' : 'seg', dataset: { show: key }, onclick: () => ((ui.show = key), ctx.rerender()) }, label)),
        ),
      ),
      rows.length === 0
        ? h('p', { class: 'muted' }, ui.show === 'risk' ? 'No license is at risk: every license inside its renew window is being renewed.' : 'No license matches.')
        : table({ columns, rows, sort: ui.sort, onSort: (sort) => ((ui.sort = sort), ctx.rerender()), rowKey: (l) => l.lid, rowClass: (l) => [risky.has(l.lid) ? 'at-risk' : '', `license-${l.state}`, l.lid === ui.open ? 'open' : ''].join(' '), onRow: (l) => ((ui.open = ui.open === l.lid ? null : l.lid), void ctx.refresh()), test: 'licenses' }),
      open ? detail(open, trail, risky.has(open.lid), admin, ctx) : h('p', { class: 'hint' }, 'Click a license for its timeline.'),
    );
  },
};

/**
 * @param {License} license
 * @param {import('./api-types.js').AuditEntry[]} trail
 * @param {boolean} atRisk
 * @param {boolean} admin
 * @param {import('./api-types.js').ViewContext} ctx
 */
function detail(license, trail, atRisk, admin, ctx) {
  const revoke = admin && license.state === 'active' ? h('button', { type: 'button', class: 'button danger', dataset: { test: 'revoke', lid: license.lid }, onclick: () => revokeLicense(ctx, license.lid, license.sub) }, 'Revoke…') : null;
  return section(
    `${license.sub} · ${license.lid}`,
    h(
      'div',
      { class: 'license-detail', dataset: { test: 'license-detail', lid: license.lid } },
      h('dl', { class: 'facts' }, ...[
        ['Issued', exact(license.issued_at)],
        ['Current token expires', `${exact(license.expires_at)} (ttl ${license.ttl})`],
        ['Renewals stop', exact(license.max_lifetime_until)],
        ['Renew', `${license.renew}, renewed ${license.renewals}×`],
      ].map(([term, value]) => h('div', { class: 'fact' }, h('dt', {}, term), h('dd', {}, value)))),
      atRisk ? h('p', { class: 'notice danger' }, 'At risk: this license is inside its renew window and will not be renewed (', license.renew === 'never' ? 'renew: never' : 'not in use, or at its max lifetime', '). It lapses ', countdown(license.expires_at), '. Renew by hand: ', commandLine(`portwarden licenses renew ${license.lid}`)) : null,
      timeline(trail, ctx.snapshot.actors),
    ),
    revoke,
  );
}
