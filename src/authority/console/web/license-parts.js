// What license pages share: the expiry countdown (kept ticking by the app's clock) and the
// revoke step with its confirmation.

import { act, confirmDialog } from './dialog.js';
import { h } from './dom.js';
import { exact, relative } from './format.js';

/**
 * `in 5h 12m`, redrawn every second by `tickCountdowns`.
 * @param {string} iso
 */
export function countdown(iso) {
  return h('span', { class: 'countdown', title: exact(iso), dataset: { expires: iso } }, relative(iso));
}

/** Brings every countdown on the page up to the second. */
export function tickCountdowns() {
  const now = Date.now();
  for (const el of document.querySelectorAll('[data-expires]')) {
    if (!(el instanceof HTMLElement) || el.dataset.expires === undefined) continue;
    el.textContent = relative(el.dataset.expires, now);
    el.classList.toggle('past', Date.parse(el.dataset.expires) <= now);
  }
}

/**
 * Asks for a reason and a confirmation, then revokes: watching sidecars drop the license
 * within a round trip and refuse new connections.
 * @param {import('./api-types.js').ViewContext} ctx
 * @param {string} lid
 * @param {string} sub
 */
export async function revokeLicense(ctx, lid, sub) {
  const reason = await confirmDialog({
    title: 'Revoke this license?',
    body: [h('p', {}, 'License ', h('code', {}, lid), ' of ', h('strong', {}, sub), ' stops admitting at once: sidecars drop it within a second and refuse new connections (open ones close, or drain with ', h('code', {}, 'on_revoke: drain'), ').'), h('p', { class: 'muted' }, 'A revocation is final; issue a new license to admit callers again.')],
    confirm: 'Revoke license',
    danger: true,
    reason: true,
  });
  if (reason === null) return;
  await act(ctx, () => ctx.api.post(`/v1/licenses/${encodeURIComponent(lid)}/revoke`, reason ? { reason } : {}), `License ${lid} revoked`);
}
