// The register map: per environment, each range drawn as a grid of numbers coloured by state
// on a canvas (a 10,000-number range in cells of 10, drawn in milliseconds), with a tooltip on
// hover; a click opens that block of 100 numbers as labelled cells that lead to their ports.

import { h, whenMounted } from './dom.js';
import { count } from './format.js';
import { portLink } from './layout.js';
import { blockSize, detailBlock } from './map-block.js';
import { drawRange } from './map-canvas.js';
import { mapEnvs, mapStates, outsideRanges, rangeMap, rangesIn } from './map-model.js';
import { palette, swatch } from './map-palette.js';

/** @typedef {import('./map-model.js').MapState} MapState */
/** @typedef {import('./map-model.js').RangeMap} RangeMap */
/** @typedef {import('./api-types.js').Span} Span */

/**
 * What the person chose on the map: the environment, the block of numbers opened, the number picked.
 * @typedef {{ env: string | null, block: { range: string, start: number } | null, picked: number | null }} MapUi
 */

/**
 * The map section of the overview.
 * @param {import('./api-types.js').Snapshot} snapshot
 * @param {MapUi} ui
 * @param {import('./api-types.js').ViewContext} ctx
 */
export function registerMap(snapshot, ui, ctx) {
  const { policy } = snapshot;
  const envs = mapEnvs(policy, snapshot.ports);
  const env = ui.env !== null && envs.includes(ui.env) ? ui.env : busiestEnv(envs, snapshot.numbers);
  const numbers = snapshot.numbers.filter((entry) => entry.env === env);
  const ranges = rangesIn(policy.ranges, env);
  const maps = ranges.map((range) => timed(() => rangeMap(range, policy.reserved, numbers)));
  const totals = /** @type {Record<MapState, number>} */ (Object.fromEntries(mapStates.map((state) => [state, maps.reduce((sum, m) => sum + m.value.counts[state], 0)])));
  const outside = outsideRanges(ranges, numbers);
  return h(
    'section',
    { class: 'panel map', dataset: { test: 'map', env } },
    h(
      'div',
      { class: 'panel-head' },
      h('h2', {}, 'Register map'),
      h(
        'div',
        { class: 'segmented', role: 'tablist', 'aria-label': 'Environment' },
        envs.map((name) =>
          h('button', { type: 'button', role: 'tab', class: name === env ? 'seg active' : 'seg', 'aria-selected': name === env ? 'true' : 'false', dataset: { env: name }, onclick: () => ((ui.env = name), (ui.block = null), (ui.picked = null), ctx.rerender()) }, name),
        ),
      ),
    ),
    legend(totals),
    maps.length === 0
      ? h('p', { class: 'muted' }, `No range is open to environment ${env}.`)
      : maps.map(({ value: map, ms }) => rangeCard(map, ms, env, policy.reserved, ui, ctx)),
    outside.length > 0
      ? h('div', { class: 'outside' }, h('h3', {}, 'In use outside every range'), h('ul', { class: 'plain' }, outside.map((entry) => h('li', {}, h('span', { class: 'num' }, entry.number), ' ', portLink(entry.port), ' ', palette[entry.state].label))))
      : null,
    h(
      'div',
      { class: 'reserved-line' },
      swatch('reserved'),
      h('span', {}, 'Reserved, never assigned: '),
      policy.reserved.map((span, i) => [i > 0 ? ' · ' : '', h('span', { class: 'num' }, span.from === span.to ? String(span.from) : `${span.from}–${span.to}`)]),
    ),
  );
}

/**
 * @param {Record<MapState, number>} totals
 */
function legend(totals) {
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    mapStates.map((state) => h('li', { dataset: { legend: state } }, swatch(state), h('span', {}, palette[state].label), h('span', { class: 'legend-count' }, count(totals[state])))),
  );
}

/**
 * One range: its heading, the canvas, and the block opened in it.
 * @param {RangeMap} map
 * @param {number} modelMs
 * @param {string} env
 * @param {Span[]} reserved
 * @param {MapUi} ui
 * @param {import('./api-types.js').ViewContext} ctx
 */
function rangeCard(map, modelMs, env, reserved, ui, ctx) {
  const { range } = map;
  const inUse = map.size - map.counts.free - map.counts.reserved;
  const limits = [range.services ? `services ${range.services.join(', ')}` : 'all services', range.envs ? `envs ${range.envs.join(', ')}` : 'all environments'];
  const canvas = h('canvas', { class: 'map-canvas', dataset: { range: range.name, from: String(range.from), bucket: String(map.bucket), modelMs: modelMs.toFixed(2) }, 'aria-label': `numbers ${range.from} to ${range.to} by state` });
  const tip = h('div', { class: 'map-tip', hidden: true, dataset: { test: 'map-tip' } });
  const holder = h('div', { class: 'map-holder' }, canvas, tip);
  const open = ui.block !== null && ui.block.range === range.name ? ui.block : null;
  const outline = open ? { first: open.start, last: Math.min(range.to, open.start + blockSize - 1) } : null;
  whenMounted(() => drawRange(canvas, map, holder.clientWidth, reserved, tip, outline, (number) => {
    ui.block = { range: range.name, start: range.from + Math.floor((number - range.from) / blockSize) * blockSize };
    ui.picked = number;
    ctx.rerender();
  }));
  return h(
    'div',
    { class: 'range-card', dataset: { rangeCard: range.name } },
    h(
      'div',
      { class: 'range-head' },
      h('div', {}, h('span', { class: 'range-name' }, range.name), h('span', { class: 'num range-span' }, `${range.from}–${range.to}`), limits.map((limit) => h('span', { class: 'chip' }, limit))),
      h('div', { class: 'range-stats' }, h('strong', {}, count(inUse)), ' in use · ', h('strong', {}, count(map.counts.free)), ' free', map.lowestFree !== null ? [' · lowest free ', h('span', { class: 'num' }, map.lowestFree)] : null, map.bucket > 1 ? ` · ${map.bucket} numbers per cell` : null),
    ),
    holder,
    open ? detailBlock(map, open.start, env, reserved, ui, ctx) : h('p', { class: 'hint' }, 'Hover for a number, click to open its block of 100.'),
  );
}

/**
 * The environment with the most numbers in use: where a person most likely wants to look.
 * @param {string[]} envs
 * @param {import('./api-types.js').NumberEntry[]} numbers
 */
function busiestEnv(envs, numbers) {
  let best = envs[0] ?? 'default';
  let most = -1;
  for (const env of envs) {
    const n = numbers.filter((entry) => entry.env === env).length;
    if (n > most) [best, most] = [env, n];
  }
  return best;
}

/**
 * @template T
 * @param {() => T} fn
 * @returns {{ value: T, ms: number }}
 */
function timed(fn) {
  const started = performance.now();
  const value = fn();
  return { value, ms: performance.now() - started };
}
