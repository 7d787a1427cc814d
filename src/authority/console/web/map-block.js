// A block of 100 numbers of a range, one labelled cell each: a number in use leads to its
// port, a free one shows the command that asks for it.

import { commandLine, h } from './dom.js';
import { relative } from './format.js';
import { portLink } from './layout.js';
import { numberState } from './map-model.js';
import { palette } from './map-palette.js';

/** @typedef {import('./map-model.js').RangeMap} RangeMap */
/** @typedef {import('./api-types.js').Span} Span */
/** @typedef {import('./map.js').MapUi} MapUi */

/** Numbers per block. */
export const blockSize = 100;

/**
 * A block of 100 numbers as labelled cells: a port's number leads to its page, a free one
 * shows how to ask for it.
 * @param {RangeMap} map
 * @param {number} start
 * @param {string} env
 * @param {Span[]} reserved
 * @param {MapUi} ui
 * @param {import('./api-types.js').ViewContext} ctx
 */
export function detailBlock(map, start, env, reserved, ui, ctx) {
  const end = Math.min(map.range.to, start + blockSize - 1);
  const cells = [];
  for (let n = start; n <= end; n++) {
    const { state, entries } = numberState(map, reserved, n);
    const first = entries[0];
    const until = first?.until ? `, ${first.state === 'cooldown' ? 'free again' : 'window ends'} ${relative(first.until)}` : '';
    const title = first ? `${n} ${palette[state].label}: ${first.port.service}/${first.port.name}${until}` : `${n} ${palette[state].label}`;
    const cell = h('button', { type: 'button', class: n === ui.picked ? 'cell picked' : 'cell', title, dataset: { number: String(n), state }, onclick: () => (first ? (location.hash = `#/ports/${encodeURIComponent(first.port.id)}`) : ((ui.picked = n), ctx.rerender())) }, String(n));
    cell.style.background = palette[state].bg;
    cell.style.color = palette[state].fg;
    cells.push(cell);
  }
  const move = (/** @type {number} */ delta) => () => {
    const next = start + delta;
    if (next < map.range.from || next > map.range.to) return;
    ui.block = { range: map.range.name, start: next };
    ui.picked = null;
    ctx.rerender();
  };
  return h(
    'div',
    { class: 'block', dataset: { test: 'block', start: String(start) } },
    h(
      'div',
      { class: 'block-head' },
      h('strong', { class: 'num' }, `${start}–${end}`),
      h('div', { class: 'block-nav' }, h('button', { type: 'button', class: 'button ghost small', onclick: move(-blockSize), disabled: start <= map.range.from }, '← previous 100'), h('button', { type: 'button', class: 'button ghost small', onclick: move(blockSize), disabled: end >= map.range.to }, 'next 100 →'), h('button', { type: 'button', class: 'button ghost small', onclick: () => ((ui.block = null), (ui.picked = null), ctx.rerender()) }, 'Close')),
    ),
    h('div', { class: 'block-grid' }, cells),
    ui.picked !== null && ui.picked >= start && ui.picked <= end ? picked(map, reserved, ui.picked, env) : null,
  );
}

/**
 * What a picked number is, and for a free one the command that asks for it.
 * @param {RangeMap} map
 * @param {Span[]} reserved
 * @param {number} number
 * @param {string} env
 */
function picked(map, reserved, number, env) {
  const { state, entries } = numberState(map, reserved, number);
  if (state === 'free') return h('div', { class: 'picked-info' }, h('p', {}, h('span', { class: 'num' }, number), ` is free in ${env}. Ask for it:`), commandLine(`portwarden ports request --service SERVICE --name NAME --env ${env} --number ${number}`));
  if (state === 'reserved') return h('div', { class: 'picked-info' }, h('p', {}, h('span', { class: 'num' }, number), ' is reserved and never assigned.'));
  return h('div', { class: 'picked-info' }, entries.map((entry) => h('p', {}, h('span', { class: 'num' }, number), ' ', palette[entry.state].label.toLowerCase(), ': ', portLink(entry.port), entry.until ? ` (${entry.state === 'cooldown' ? 'free again' : 'window ends'} ${relative(entry.until)})` : '')));
}
