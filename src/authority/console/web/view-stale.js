// Ports nobody reached for `stale_after`, and reclaiming them: a dry run first, listing what
// would be released, then an explicit confirmation.

import { act, confirmDialog } from './dialog.js';
import { commandLine, h } from './dom.js';
import { exact, relative } from './format.js';
import { emptyState, pageHeader, portLink } from './layout.js';
import { table } from './table.js';

/** @typedef {import('./api-types.js').PortRecord} PortRecord */

const ui = {
  /** @type {import('./table.js').SortState} */
  sort: { key: 'access', dir: 1 },
};

/** @type {import('./api-types.js').View<null>} */
export const staleView = {
  nav: 'stale',
  title: () => 'Stale ports',
  async load() {
    return null;
  },
  render(_data, ctx) {
    const { ports, stale, policy } = ctx.snapshot;
    const admin = ctx.me.role === 'admin';
    const rows = ports.filter((port) => stale.has(port.id));
    const action = admin && rows.length > 0 ? h('button', { type: 'button', class: 'button danger', dataset: { test: 'reclaim' }, onclick: () => reclaim(ctx) }, `Reclaim ${rows.length}…`) : null;
    const header = pageHeader('Stale ports', ['Active ports nobody reached for ', h('span', { class: 'num' }, policy.stale_after), ' (register.stale_after). Reclaiming releases them: their licenses are revoked and their numbers cool down for ', h('span', { class: 'num' }, policy.reuse_cooldown), '.'], action);
    if (rows.length === 0) return h('div', {}, header, emptyState('No stale ports', `Every active port was reached within ${policy.stale_after}.`, ['portwarden ports list --stale']));
    /** @type {import('./table.js').Column<PortRecord>[]} */
    const columns = [
      { key: 'port', label: 'Port', cell: (p) => portLink(p), sort: (p) => `${p.service}/${p.name}` },
      { key: 'number', label: 'Number', class: 'num', cell: (p) => p.number ?? '—', sort: (p) => p.number ?? 0 },
      { key: 'env', label: 'Env', cell: (p) => h('span', { class: 'chip' }, p.env), sort: (p) => p.env },
      { key: 'owner', label: 'Owner', cell: (p) => p.owner, sort: (p) => p.owner },
      { key: 'access', label: 'Last access', cell: (p) => h('span', { title: exact(p.last_access_at) }, relative(p.last_access_at)), sort: (p) => p.last_access_at ?? '' },
      { key: 'approved', label: 'Active since', cell: (p) => h('span', { title: exact(p.approved_at) }, relative(p.approved_at)), sort: (p) => p.approved_at ?? '' },
    ];
    return h(
      'div',
      {},
      header,
      admin ? null : h('div', { class: 'notice', dataset: { test: 'readonly' } }, 'Viewer token: an admin reclaims (', commandLine('portwarden ports reclaim --yes'), ').'),
      table({ columns, rows, sort: ui.sort, onSort: (sort) => ((ui.sort = sort), ctx.rerender()), rowKey: (p) => p.id, onRow: (p) => (location.hash = `#/ports/${encodeURIComponent(p.id)}`), test: 'stale' }),
    );
  },
};

/**
 * The dry run says exactly what a reclaim would release now; only the confirmation releases it.
 * @param {import('./api-types.js').ViewContext} ctx
 */
async function reclaim(ctx) {
  /** @type {import('./api-types.js').ReclaimAnswer} */
  const dry = await ctx.api.post('/v1/ports/reclaim', { dry_run: true });
  if (dry.ports.length === 0) {
    ctx.notify('Nothing to reclaim any more: every port was used since.', 'ok');
    await ctx.refresh();
    return;
  }
  const confirmed = await confirmDialog({
    title: `Release ${dry.ports.length} stale port${dry.ports.length === 1 ? '' : 's'}?`,
    body: [
      h('p', {}, `The dry run lists these ports unused for ${dry.stale_after}. Releasing revokes their licenses; their numbers cool down before anyone else gets them.`),
      h('ul', { class: 'plain dry-run', dataset: { test: 'dry-run' } }, dry.ports.map((p) => h('li', {}, portLink(p), ' ', h('span', { class: 'num' }, p.number ?? ''), ' ', h('span', { class: 'chip' }, p.env), ' last access ', relative(p.last_access_at)))),
    ],
    confirm: `Release ${dry.ports.length}`,
    danger: true,
  });
  if (confirmed === null) return;
  await act(ctx, () => ctx.api.post('/v1/ports/reclaim', { dry_run: false }), `Released ${dry.ports.length} stale port${dry.ports.length === 1 ? '' : 's'}`);
}
