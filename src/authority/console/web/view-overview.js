// The first page: the whole system in a minute — what is assigned and what waits, then the
// map of every range.

import { commandLine, h } from './dom.js';
import { count } from './format.js';
import { emptyState, pageHeader } from './layout.js';
import { registerMap } from './map.js';

/** @type {import('./map.js').MapUi} */
const mapUi = { env: null, block: null, picked: null };

/** @type {import('./api-types.js').View<null>} */
export const overviewView = {
  nav: 'overview',
  title: () => 'Overview',
  async load() {
    return null;
  },
  render(_data, ctx) {
    const { snapshot } = ctx;
    const { ports, licenses, policy } = snapshot;
    const live = ports.filter((port) => port.state === 'active' || port.state === 'transitioning');
    const pending = ports.filter((port) => port.state === 'requested');
    const activeLicenses = licenses.licenses.filter((license) => license.state === 'active');
    const cards = [
      stat('Ports in service', count(live.length), `${ports.filter((p) => p.state === 'transitioning').length} in transition`, '#/ports', 'ports'),
      stat('Waiting for approval', count(pending.length), policy.approval === 'manual' ? 'approval: manual' : 'approval: auto', '#/approvals', pending.length > 0 ? 'warn' : ''),
      stat('Active licenses', count(activeLicenses.length), `${licenses.licenses.filter((l) => l.state === 'revoked').length} revoked`, '#/licenses', 'licenses'),
      stat('At risk', count(licenses.at_risk.length), 'lapse unless renewed', '#/licenses', licenses.at_risk.length > 0 ? 'danger' : ''),
      stat('Stale', count(snapshot.stale.size), `unused for ${policy.stale_after}`, '#/stale', snapshot.stale.size > 0 ? 'warn' : ''),
    ];
    return h(
      'div',
      {},
      pageHeader('Overview', ['Every range of the register, per environment. Cool-down after release: ', h('span', { class: 'num' }, policy.reuse_cooldown), '.']),
      h('div', { class: 'stats' }, cards),
      ports.length === 0 ? emptyState('No ports yet', 'The register is empty: request the first port, and it shows on the map below.', ['portwarden ports request --service billing --name api --env prod --owner team-billing']) : null,
      registerMap(snapshot, mapUi, ctx),
      h('p', { class: 'foot-hint' }, 'Everything here is also in the CLI: ', commandLine('portwarden ports list'), ' ', commandLine('portwarden licenses list')),
    );
  },
};

/**
 * @param {string} label
 * @param {string} value
 * @param {string} detail
 * @param {string} href
 * @param {string} tone
 */
function stat(label, value, detail, href, tone) {
  return h('a', { class: `stat ${tone ? `stat-${tone}` : ''}`.trim(), href, dataset: { stat: label } }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value' }, value), h('span', { class: 'stat-detail' }, detail));
}
