// The confirm step before anything that cannot be undone: a modal dialog that says what will
// happen, takes an optional reason, and acts only on the explicit button.

import { h } from './dom.js';

/**
 * Opens a dialog and resolves with the reason typed when the person confirms, or null.
 * @param {{ title: string, body: import('./dom.js').Children, confirm: string, danger?: boolean, reason?: boolean, reasonLabel?: string }} o
 * @returns {Promise<string | null>}
 */
export function confirmDialog(o) {
  return new Promise((resolve) => {
    const reason = o.reason ? h('textarea', { class: 'input', rows: 2, maxlength: 500, placeholder: 'Why (kept in the audit log)', 'data-test': 'reason' }) : null;
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'dialog-title' },
      h(
        'form',
        { method: 'dialog', class: 'dialog-form' },
        h('h2', { id: 'dialog-title' }, o.title),
        h('div', { class: 'dialog-body' }, o.body),
        reason ? h('label', { class: 'field' }, h('span', {}, o.reasonLabel ?? 'Reason (optional)'), reason) : null,
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { type: 'submit', value: 'cancel', class: 'button ghost', 'data-test': 'cancel' }, 'Cancel'),
          h('button', { type: 'submit', value: 'confirm', class: o.danger ? 'button danger' : 'button primary', 'data-test': 'confirm' }, o.confirm),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      const confirmed = dialog.returnValue === 'confirm';
      dialog.remove();
      resolve(confirmed ? (reason?.value.trim() ?? '') : null);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    (reason ?? dialog.querySelector('[data-test="cancel"]'))?.focus?.();
  });
}

/**
 * Runs an action the person confirmed, reporting its outcome in the corner.
 * @param {import('./api-types.js').ViewContext} ctx
 * @param {() => Promise<unknown>} action
 * @param {string} done what to say when it worked
 */
export async function act(ctx, action, done) {
  try {
    await action();
    ctx.notify(done, 'ok');
  } catch (err) {
    ctx.notify(err instanceof Error ? `${'code' in err ? `${String(err.code)}: ` : ''}${err.message}` : String(err), 'error');
  }
  await ctx.refresh();
}
