// One port: where it lives, who owns it, its licenses, who calls it, what depends on it, and
// everything that happened to it.

import { portPath } from './api.js';
import { commandLine, h } from './dom.js';
import { bytes, count, exact, relative } from './format.js';
import { actor, badge, pageHeader, portLink, section } from './layout.js';
import { timeline } from './audit.js';
import { countdown, revokeLicense } from './license-parts.js';
import { decide } from './view-approvals.js';
import { table } from './table.js';

/** @typedef {import('./api-types.js').PortDetail} PortDetail */
/** @typedef {{ port: PortDetail, access: import('./api-types.js').PortAccess, audit: import('./api-types.js').AuditEntry[] }} PortData */

const ui = {
  /** @type {import('./table.js').SortState} */
  callers: { key: 'last', dir: -1 },
};

/** @type {import('./api-types.js').View<PortData>} */
export const portView = {
  nav: 'ports',
  title: (ctx) => `Port ${ctx.params.id ?? ''}`,
  async load(ctx) {
    const id = ctx.params.id ?? '';
    /** @type {[PortDetail, import('./api-types.js').PortAccess]} */
    const [port, access] = await Promise.all([ctx.api.get(portPath(id)), ctx.api.get(portPath(id, 'access'))]);
    const targets = [`port/${port.id}`, ...port.licenses.map((license) => `license/${license.lid}`)];
    /** @type {{ entries: import('./api-types.js').AuditEntry[] }[]} */
    const trails = await Promise.all(targets.map((target) => ctx.api.get(`/v1/audit?target=${encodeURIComponent(target)}`)));
    const audit = trails.flatMap((trail) => trail.entries).sort((a, b) => a.at.localeCompare(b.at) || a.id - b.id);
    return { port, access, audit };
  },
  render({ port, access, audit }, ctx) {
    const ref = `${port.service}/${port.name}`;
    const admin = ctx.me.role === 'admin';
    // a dependency names service/name; it means the port of that name in the same environment
    const dependents = ctx.snapshot.ports.filter((other) => other.id !== port.id && other.env === port.env && other.dependencies.includes(ref) && other.state !== 'released' && other.state !== 'rejected');
    const dependencies = port.dependencies.map((dep) => ({ dep, port: ctx.snapshot.ports.find((other) => `${other.service}/${other.name}` === dep && other.env === port.env && other.state !== 'released' && other.state !== 'rejected') }));
    const actions = admin && port.state === 'requested' ? [h('button', { type: 'button', class: 'button primary', dataset: { test: 'approve' }, onclick: () => decide(ctx, port, 'approve') }, 'Approve'), h('button', { type: 'button', class: 'button ghost', dataset: { test: 'reject' }, onclick: () => decide(ctx, port, 'reject') }, 'Reject')] : null;
    return h(
      'div',
      { dataset: { test: 'port', port: port.id } },
      h('p', { class: 'crumbs' }, h('a', { href: '#/ports' }, 'Ports'), ' / ', ref),
      pageHeader(ref, [badge(port.state), ' ', h('span', { class: 'num big' }, port.number === null ? 'ephemeral' : `${port.number}/${port.protocol}`), port.transition ? h('span', { class: 'num' }, ` → ${port.transition.to} until ${exact(port.transition.window_ends_at)}`) : null, ' in ', h('span', { class: 'chip' }, port.env)], actions),
      h(
        'dl',
        { class: 'facts' },
        fact('Owner', port.owner),
        fact('Kind', port.kind),
        fact('Allocated', h('span', { title: exact(port.created_at) }, relative(port.created_at)), ' by ', actor(ctx.snapshot.actors, port.created_by)),
        port.state === 'rejected'
          ? fact('Rejected', h('span', { title: exact(port.rejected_at) }, relative(port.rejected_at)), ' by ', actor(ctx.snapshot.actors, port.rejected_by))
          : fact('Approved', port.approved_at ? [h('span', { title: exact(port.approved_at) }, relative(port.approved_at)), ' by ', actor(ctx.snapshot.actors, port.approved_by)] : 'not yet'),
        fact('Last access', h('span', { title: exact(port.last_access_at) }, relative(port.last_access_at)), ctx.snapshot.stale.has(port.id) ? badge('stale') : null),
        port.reason ? fact('Reason', port.reason) : null,
        port.pending_license ? fact('On approval', `licensed for ${port.pending_license.allow.join(', ')}`) : null,
      ),
      h(
        'div',
        { class: 'two-col' },
        section('Depends on', dependencies.length === 0 ? h('p', { class: 'muted' }, 'Declares no dependencies.') : h('ul', { class: 'plain' }, dependencies.map(({ dep, port: target }) => h('li', {}, target ? portLink(target) : h('span', {}, dep, h('span', { class: 'muted' }, ' (not registered here)')))))),
        section(
          'What depends on this port',
          dependents.length === 0 ? h('p', { class: 'muted', dataset: { test: 'dependents' } }, `No port in ${port.env} declares a dependency on ${ref}.`) : h('ul', { class: 'plain', dataset: { test: 'dependents' } }, dependents.map((other) => h('li', {}, portLink(other), ' ', badge(other.state), ' ', h('span', { class: 'muted' }, other.owner)))),
        ),
      ),
      section(
        'Licenses',
        port.licenses.length === 0
          ? h('p', { class: 'muted' }, port.state === 'requested' ? 'Licensed once approved.' : 'No license for this port. Issue one: ', port.state === 'requested' ? null : commandLine(`portwarden licenses issue --service ${port.service} --port ${port.name} --number ${port.number ?? 'N'} --allow IDENTITY${port.env === 'default' ? '' : ` --env ${port.env}`}`))
          : table({
              columns: [
                { key: 'lid', label: 'License', class: 'mono', cell: (l) => l.lid },
                { key: 'number', label: 'Number', class: 'num', cell: (l) => l.number },
                { key: 'state', label: 'State', cell: (l) => badge(l.state) },
                { key: 'allow', label: 'Allows', class: 'allow', cell: (l) => l.allow.join(', ') },
                { key: 'exp', label: 'Expires', cell: (l) => (l.state === 'active' ? countdown(l.expires_at) : h('span', { title: exact(l.expires_at) }, exact(l.expires_at))) },
                { key: 'last', label: 'Last access', cell: (l) => relative(l.last_access_at) },
                { key: 'act', label: '', cell: (l) => (admin && l.state === 'active' ? h('button', { type: 'button', class: 'button danger small', dataset: { test: 'revoke', lid: l.lid }, onclick: () => revokeLicense(ctx, l.lid, ref) }, 'Revoke…') : null) },
              ],
              rows: port.licenses,
              sort: { key: '', dir: 1 },
              onSort: () => undefined,
              rowKey: (l) => l.lid,
              rowClass: (l) => `license-${l.state}`,
              test: 'port-licenses',
            }),
      ),
      section(
        'Callers',
        access.callers.length === 0
          ? h('p', { class: 'muted' }, 'No caller reported yet: sidecars send access records every few seconds.')
          : table({
              columns: [
                { key: 'identity', label: 'Identity', class: 'mono', cell: (c) => c.identity ?? h('span', { class: 'muted' }, 'none'), sort: (c) => c.identity ?? '' },
                { key: 'origin', label: 'Origin', class: 'mono', cell: (c) => c.origin, sort: (c) => c.origin },
                { key: 'count', label: 'Connections', class: 'num', cell: (c) => count(c.count), sort: (c) => c.count },
                { key: 'bytes', label: 'Bytes in / out', class: 'num', cell: (c) => `${bytes(c.bytes_in)} / ${bytes(c.bytes_out)}`, sort: (c) => c.bytes_in + c.bytes_out },
                { key: 'first', label: 'First', cell: (c) => h('span', { title: exact(c.first_access_at) }, relative(c.first_access_at)), sort: (c) => c.first_access_at },
                { key: 'last', label: 'Last', cell: (c) => h('span', { title: exact(c.last_access_at) }, relative(c.last_access_at)), sort: (c) => c.last_access_at },
                { key: 'decision', label: 'Last decision', cell: (c) => [badge(c.last_decision), c.last_reason ? h('span', { class: 'muted' }, ` ${c.last_reason}`) : null], sort: (c) => c.last_decision },
              ],
              rows: access.callers,
              sort: ui.callers,
              onSort: (sort) => ((ui.callers = sort), ctx.rerender()),
              rowKey: (c) => `${c.identity ?? ''}|${c.origin}`,
              test: 'callers',
            }),
        access.totals ? h('span', { class: 'muted' }, `${count(access.totals.count)} connections, ${bytes(access.totals.bytes_in + access.totals.bytes_out)}`) : null,
      ),
      section('Audit trail', timeline(audit, ctx.snapshot.actors)),
    );
  },
};

/**
 * @param {string} term
 * @param {...import('./dom.js').Children} value
 */
function fact(term, ...value) {
  return h('div', { class: 'fact' }, h('dt', {}, term), h('dd', {}, value));
}

