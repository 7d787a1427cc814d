// Requests waiting under `register.approval: manual`: an admin approves or rejects each with
// a reason; a viewer sees the same list without the buttons (and the API refuses them anyway).

import { portPath } from './api.js';
import { act, confirmDialog } from './dialog.js';
import { commandLine, h } from './dom.js';
import { exact, relative } from './format.js';
import { actor, emptyState, pageHeader, portLink } from './layout.js';
import { table } from './table.js';

/** @typedef {import('./api-types.js').PortRecord} PortRecord */

const ui = {
  /** @type {import('./table.js').SortState} */
  sort: { key: 'requested', dir: 1 },
};

/** @type {import('./api-types.js').View<null>} */
export const approvalsView = {
  nav: 'approvals',
  title: () => 'Approvals',
  async load() {
    return null;
  },
  render(_data, ctx) {
    const { policy, ports } = ctx.snapshot;
    const admin = ctx.me.role === 'admin';
    const pending = ports.filter((port) => port.state === 'requested');
    const subtitle = policy.approval === 'manual' ? 'register.approval is manual: every request waits here for an admin.' : 'register.approval is auto: requests that pass the checks are active at once.';
    const header = pageHeader('Approvals', subtitle);
    const notice = admin ? null : h('div', { class: 'notice', dataset: { test: 'readonly' } }, 'You are signed in with a viewer token: you see the requests, an admin decides them (', commandLine('portwarden ports approve PORT'), ').');
    if (pending.length === 0) {
      return h(
        'div',
        {},
        header,
        notice,
        policy.approval === 'manual'
          ? emptyState('Nothing waits for approval', 'New requests land here until an admin approves or rejects them.', ['portwarden ports request --service billing --name api --env prod'])
          : emptyState('Nothing waits for approval', 'With approval: auto, nothing ever waits. Set register.approval: manual to decide each request here.'),
      );
    }
    /** @type {import('./table.js').Column<PortRecord>[]} */
    const columns = [
      { key: 'port', label: 'Request', cell: (p) => [portLink(p), p.reason ? h('div', { class: 'reason-line' }, p.reason) : null], sort: (p) => `${p.service}/${p.name}` },
      { key: 'env', label: 'Env', cell: (p) => h('span', { class: 'chip' }, p.env), sort: (p) => p.env },
      { key: 'number', label: 'Number', class: 'num', cell: (p) => p.number ?? '—', sort: (p) => p.number ?? 0 },
      { key: 'owner', label: 'Owner', class: 'owner', cell: (p) => p.owner, sort: (p) => p.owner },
      { key: 'deps', label: 'Depends on', class: 'deps', cell: (p) => p.dependencies.join(', ') || '—' },
      { key: 'requested', label: 'Requested', class: 'nowrap', cell: (p) => [h('span', { title: exact(p.created_at) }, relative(p.created_at)), ' by ', actor(ctx.snapshot.actors, p.created_by)], sort: (p) => p.created_at },
    ];
    if (admin) {
      columns.push({
        key: 'decide',
        label: '',
        class: 'actions',
        cell: (p) => [
          h('button', { type: 'button', class: 'button primary small', dataset: { test: 'approve', port: p.id }, onclick: () => decide(ctx, p, 'approve') }, 'Approve'),
          h('button', { type: 'button', class: 'button ghost small', dataset: { test: 'reject', port: p.id }, onclick: () => decide(ctx, p, 'reject') }, 'Reject'),
        ],
      });
    }
    return h('div', {}, header, notice, table({ columns, rows: pending, sort: ui.sort, onSort: (sort) => ((ui.sort = sort), ctx.rerender()), rowKey: (p) => p.id, test: 'approvals' }));
  },
};

/**
 * Approves or rejects a request after a confirmation that takes the reason.
 * @param {import('./api-types.js').ViewContext} ctx
 * @param {PortRecord} port
 * @param {'approve' | 'reject'} decision
 */
export async function decide(ctx, port, decision) {
  const ref = `${port.service}/${port.name}`;
  const approve = decision === 'approve';
  const reason = await confirmDialog({
    title: approve ? `Approve ${ref}?` : `Reject ${ref}?`,
    body: approve
      ? h('p', {}, h('strong', {}, ref), ` in ${port.env} becomes active on `, h('span', { class: 'num' }, port.number ?? 'no number'), ', and is licensed if the request asked for it. The number is checked again first.')
      : h('p', {}, 'The request is closed and its number ', h('span', { class: 'num' }, port.number ?? ''), ' is free again at once. Asking again makes a new request.'),
    confirm: approve ? 'Approve' : 'Reject request',
    danger: !approve,
    reason: true,
  });
  if (reason === null) return;
  await act(ctx, () => ctx.api.post(portPath(port.id, decision), reason ? { reason } : {}), `${ref} ${approve ? 'approved' : 'rejected'}`);
}
