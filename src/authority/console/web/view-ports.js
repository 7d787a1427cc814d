// Every port of the register in one dense table: filter by text, environment and state,
// sort by any column, click through to the port.

import { commandLine, h } from './dom.js';
import { exact, relative } from './format.js';
import { badge, emptyState, pageHeader, portLink } from './layout.js';
import { table } from './table.js';

/** @typedef {import('./api-types.js').PortRecord} PortRecord */

const ui = {
  text: '',
  env: '',
  state: '',
  staleOnly: false,
  /** @type {import('./table.js').SortState} */
  sort: { key: 'service', dir: 1 },
};

/** @type {import('./api-types.js').View<null>} */
export const portsView = {
  nav: 'ports',
  title: () => 'Ports',
  async load() {
    return null;
  },
  render(_data, ctx) {
    const { ports, stale } = ctx.snapshot;
    if (ports.length === 0) {
      return h('div', {}, pageHeader('Ports', 'The register: every port, its number, owner and state.'), emptyState('No ports yet', 'Request one and it is listed here with its stable number:', ['portwarden ports request --service billing --name api --env prod --owner team-billing']));
    }
    const envs = [...new Set(ports.map((port) => port.env))].sort();
    const needle = ui.text.trim().toLowerCase();
    const rows = ports.filter(
      (port) =>
        (needle === '' || [port.service, port.name, port.owner, String(port.number ?? ''), ...port.dependencies].some((field) => field.toLowerCase().includes(needle))) &&
        (ui.env === '' || port.env === ui.env) &&
        (ui.state === '' || port.state === ui.state) &&
        (!ui.staleOnly || stale.has(port.id)),
    );
    /** @type {import('./table.js').Column<PortRecord>[]} */
    const columns = [
      { key: 'service', label: 'Port', cell: (p) => portLink(p), sort: (p) => `${p.service}/${p.name}` },
      { key: 'number', label: 'Number', class: 'num', cell: (p) => (p.number === null ? h('span', { class: 'muted' }, 'ephemeral') : [String(p.number), p.transition ? h('span', { class: 'muted' }, ` → ${p.transition.to}`) : null]), sort: (p) => p.number ?? 0 },
      { key: 'protocol', label: 'Proto', cell: (p) => p.protocol, sort: (p) => p.protocol },
      { key: 'env', label: 'Env', cell: (p) => h('span', { class: 'chip' }, p.env), sort: (p) => p.env },
      { key: 'owner', label: 'Owner', class: 'owner', cell: (p) => p.owner, sort: (p) => p.owner },
      { key: 'deps', label: 'Depends on', class: 'deps', cell: (p) => (p.dependencies.length === 0 ? h('span', { class: 'muted' }, '—') : p.dependencies.join(', ')), sort: (p) => p.dependencies.length },
      { key: 'state', label: 'State', cell: (p) => badge(p.state), sort: (p) => p.state },
      { key: 'allocated', label: 'Allocated', cell: (p) => h('span', { title: exact(p.created_at) }, relative(p.created_at)), sort: (p) => p.created_at },
      { key: 'access', label: 'Last access', cell: (p) => h('span', { title: exact(p.last_access_at) }, relative(p.last_access_at)), sort: (p) => p.last_access_at ?? '' },
      { key: 'stale', label: 'Stale', cell: (p) => (stale.has(p.id) ? badge('stale') : ''), sort: (p) => (stale.has(p.id) ? 1 : 0) },
    ];
    const select = (/** @type {string} */ name, /** @type {string} */ value, /** @type {string[]} */ options, /** @type {(v: string) => void} */ set) =>
      h('select', { class: 'input', 'aria-label': name, dataset: { focus: `ports-${name}` }, onchange: (/** @type {Event} */ e) => (set(/** @type {HTMLSelectElement} */ (e.target).value), ctx.rerender()) }, h('option', { value: '' }, `all ${name}s`), options.map((o) => h('option', { value: o, selected: o === value }, o)));
    return h(
      'div',
      {},
      pageHeader('Ports', `${ports.length} in the register, ${rows.length} shown.`),
      h(
        'div',
        { class: 'filters' },
        h('input', { class: 'input grow', type: 'search', placeholder: 'Filter by service, name, owner, number, dependency', value: ui.text, 'aria-label': 'filter', dataset: { focus: 'ports-text' }, oninput: (/** @type {Event} */ e) => ((ui.text = /** @type {HTMLInputElement} */ (e.target).value), ctx.rerender()) }),
        select('env', ui.env, envs, (v) => (ui.env = v)),
        select('state', ui.state, ['requested', 'active', 'transitioning', 'released', 'rejected'], (v) => (ui.state = v)),
        h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: ui.staleOnly, dataset: { focus: 'ports-stale' }, onchange: (/** @type {Event} */ e) => ((ui.staleOnly = /** @type {HTMLInputElement} */ (e.target).checked), ctx.rerender()) }), 'stale only'),
      ),
      rows.length === 0
        ? h('p', { class: 'muted' }, 'No port matches the filter.')
        : table({ columns, rows, sort: ui.sort, onSort: (sort) => ((ui.sort = sort), ctx.rerender()), rowKey: (p) => p.id, rowClass: (p) => `state-${p.state}`, onRow: (p) => (location.hash = `#/ports/${encodeURIComponent(p.id)}`), test: 'ports' }),
      h('p', { class: 'foot-hint' }, 'From a terminal: ', commandLine('portwarden ports list')),
    );
  },
};
