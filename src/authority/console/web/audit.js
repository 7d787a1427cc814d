// The audit trail as a timeline a person reads: when, who, what happened, in words.

import { h } from './dom.js';
import { exact, relative } from './format.js';
import { actor } from './layout.js';

/** @typedef {import('./api-types.js').AuditEntry} AuditEntry */

/** What each action reads as. */
const actions = /** @type {Record<string, string>} */ ({
  'port.request': 'requested',
  'port.approve': 'approved',
  'port.reject': 'rejected',
  'port.release': 'released',
  'port.reclaim': 'reclaimed (stale)',
  'port.transition': 'transition started',
  'port.transition.cancel': 'transition cancelled',
  'port.transition.complete': 'transition completed',
  'license.issued': 'license issued',
  'license.renewed': 'license renewed',
  'license.revoked': 'license revoked',
  'license.expired': 'license expired',
});

/**
 * Entries oldest first, as a vertical timeline.
 * @param {AuditEntry[]} entries
 * @param {Map<string, string>} actors token ids to names
 */
export function timeline(entries, actors) {
  if (entries.length === 0) return h('p', { class: 'muted' }, 'Nothing recorded yet.');
  return h(
    'ol',
    { class: 'timeline', dataset: { test: 'timeline' } },
    entries.map((entry) =>
      h(
        'li',
        { class: `tl tl-${entry.action.split('.').pop()}`, dataset: { action: entry.action } },
        h('div', { class: 'tl-when', title: exact(entry.at) }, relative(entry.at)),
        h('div', { class: 'tl-what' }, h('strong', {}, actions[entry.action] ?? entry.action), ' by ', actor(actors, entry.actor), detail(entry)),
      ),
    ),
  );
}

/**
 * The one fact of an entry worth a line: the reason, the number, the new expiry.
 * @param {AuditEntry} entry
 */
function detail(entry) {
  const after = /** @type {Record<string, unknown> | null} */ (entry.after && typeof entry.after === 'object' ? entry.after : null);
  if (!after) return null;
  const facts = [];
  if (entry.action === 'port.request' && typeof after.number === 'number') facts.push(`number ${after.number}`);
  if (entry.action === 'port.transition' && after.transition && typeof after.transition === 'object' && 'to' in after.transition) facts.push(`to ${String(after.transition.to)}`);
  if (entry.action.startsWith('license.') && typeof after.expires_at === 'string' && entry.action !== 'license.revoked') facts.push(`until ${exact(after.expires_at)}`);
  if (typeof after.reason === 'string' && after.reason !== '') facts.push(`“${after.reason}”`);
  return facts.length > 0 ? h('div', { class: 'tl-detail' }, facts.join(' · ')) : null;
}
