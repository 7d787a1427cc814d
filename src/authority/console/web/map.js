// The register map: per environment, each range drawn as a grid of numbers coloured by state
// on a canvas (a 10,000-number range in cells of 10, drawn in milliseconds), with a tooltip on
// hover; a click opens that block of 100 numbers as labelled cells that lead to their ports.

import { commandLine, h, whenMounted } from './dom.js';
import { count, relative } from './format.js';
import { mapEnvs, mapStates, numberState, outsideRanges, rangeMap, rangesIn } from './map-model.js';
import { portLink } from './layout.js';

/** @typedef {import('./map-model.js').MapState} MapState */
/** @typedef {import('./map-model.js').RangeMap} RangeMap */
/** @typedef {import('./api-types.js').Span} Span */

/** The colour of each state, on the canvas, in the legend and in the detail block alike. */
export const palette = /** @type {Record<MapState, { bg: string, fg: string, label: string }>} */ ({
  transitioning: { bg: '#7c3aed', fg: '#ffffff', label: 'In transition' },
  assigned: { bg: '#2563eb', fg: '#ffffff', label: 'Assigned' },
  requested: { bg: '#f59e0b', fg: '#1f2937', label: 'Requested' },
  cooldown: { bg: '#0e7490', fg: '#ffffff', label: 'Cool-down' },
  reserved: { bg: '#64748b', fg: '#ffffff', label: 'Reserved' },
  free: { bg: '#e2e8f0', fg: '#334155', label: 'Free' },
});

/** Numbers per detail block. */
const blockSize = 100;

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

/** @param {MapState} state */
function swatch(state) {
  const el = h('span', { class: 'swatch' });
  el.style.background = palette[state].bg;
  return el;
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
 * Draws the grid of `map` at `width` CSS pixels, and wires hover and click.
 * @param {HTMLCanvasElement} canvas
 * @param {RangeMap} map
 * @param {number} width
 * @param {Span[]} reserved
 * @param {HTMLElement} tip
 * @param {{ first: number, last: number } | null} outline the numbers of the open block, framed
 * @param {(number: number) => void} onPick
 */
function drawRange(canvas, map, width, reserved, tip, outline, onPick) {
  const started = performance.now();
  const layout = gridLayout(map.cells.length, width);
  const { cols, pitch, gutter, rows } = layout;
  const ratio = window.devicePixelRatio || 1;
  const cssWidth = gutter + cols * pitch;
  // room above and below the cells for the open block's frame
  const inset = 2;
  const cssHeight = rows * pitch + 2 * inset;
  canvas.width = Math.ceil(cssWidth * ratio);
  canvas.height = Math.ceil(cssHeight * ratio);
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${cssHeight}px`;
  const g = canvas.getContext('2d');
  if (!g) return;
  g.scale(ratio, ratio);
  const size = pitch >= 10 ? pitch - 3 : pitch - 1;
  // one fill style per state, not per cell
  for (let s = 0; s < mapStates.length; s++) {
    g.fillStyle = palette[mapStates[s] ?? 'free'].bg;
    for (let i = 0; i < map.cells.length; i++) {
      if (map.cells[i] !== s) continue;
      g.fillRect(gutter + (i % cols) * pitch, inset + Math.floor(i / cols) * pitch, size, size);
    }
  }
  if (outline) {
    // frame the open block, one stroke per row it spans
    g.strokeStyle = '#0f172a';
    g.lineWidth = 2;
    const firstCell = Math.floor((outline.first - map.range.from) / map.bucket);
    const lastCell = Math.floor((outline.last - map.range.from) / map.bucket);
    for (let cell = firstCell; cell <= lastCell; ) {
      const row = Math.floor(cell / cols);
      const end = Math.min(lastCell, (row + 1) * cols - 1);
      g.strokeRect(gutter + (cell % cols) * pitch - 1.5, inset + row * pitch - 1.5, (end - cell + 1) * pitch + 1, pitch + 1);
      cell = end + 1;
    }
  }
  // the first number of every few rows, so a person can find 23400 without hovering
  g.fillStyle = '#64748b';
  g.font = '10px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
  g.textBaseline = 'top';
  const every = Math.max(1, Math.ceil(24 / pitch));
  for (let row = 0; row < rows; row += every) g.fillText(String(map.range.from + row * cols * map.bucket), 0, inset + row * pitch + Math.max(0, (pitch - 10) / 2));
  Object.assign(canvas.dataset, { cols: String(cols), pitch: String(pitch), gutter: String(gutter), inset: String(inset), drawMs: (performance.now() - started).toFixed(2) });

  /** @param {MouseEvent} event */
  const numbersAt = (event) => {
    const cell = Math.floor((event.offsetX - gutter) / pitch) + Math.floor((event.offsetY - inset) / pitch) * cols;
    if (event.offsetX < gutter || event.offsetY < inset || cell < 0 || cell >= map.cells.length) return null;
    const first = map.range.from + cell * map.bucket;
    return { first, last: Math.min(map.range.to, first + map.bucket - 1) };
  };
  canvas.onmousemove = (event) => {
    const at = numbersAt(event);
    tip.hidden = at === null;
    if (at === null) return;
    tip.replaceChildren(...tipText(map, reserved, at.first, at.last));
    tip.style.left = `${Math.min(event.offsetX + 14, Math.max(0, cssWidth - 260))}px`;
    tip.style.top = `${event.offsetY + 14}px`;
  };
  canvas.onmouseleave = () => (tip.hidden = true);
  canvas.onclick = (event) => {
    const at = numbersAt(event);
    if (at !== null) onPick(at.first);
  };
}

/**
 * Columns of round counts (so rows start at round numbers) and a cell pitch that fills the width.
 * @param {number} cells
 * @param {number} width
 */
export function gridLayout(cells, width) {
  const gutter = 48;
  const avail = Math.max(120, width - gutter);
  let cols = 50;
  while (cols > 10 && avail / cols < 8) cols /= 2;
  cols = Math.max(1, Math.min(cols, cells));
  const pitch = Math.max(6, Math.min(20, Math.floor(avail / cols)));
  return { cols, pitch, gutter, rows: Math.ceil(cells / cols) };
}

/**
 * The tooltip's lines for the numbers under the pointer.
 * @param {RangeMap} map
 * @param {Span[]} reserved
 * @param {number} first
 * @param {number} last
 * @returns {Node[]}
 */
function tipText(map, reserved, first, last) {
  if (first === last) {
    const { state, entries } = numberState(map, reserved, first);
    const lines = [h('div', { class: 'tip-head' }, h('span', { class: 'num' }, first), ' ', swatch(state), ' ', palette[state].label)];
    for (const entry of entries) lines.push(h('div', {}, `${entry.port.service}/${entry.port.name} (${entry.protocol})`, entry.until ? ` · ${entry.state === 'cooldown' ? 'free again' : 'window ends'} ${relative(entry.until)}` : ''));
    if (state === 'free') lines.push(h('div', { class: 'muted' }, 'free: click for the request command'));
    return lines;
  }
  /** @type {Map<MapState, number>} */
  const tally = new Map();
  for (let n = first; n <= last; n++) {
    const { state } = numberState(map, reserved, n);
    tally.set(state, (tally.get(state) ?? 0) + 1);
  }
  const held = [];
  for (let n = first; n <= last; n++) for (const entry of map.entries.get(n) ?? []) held.push(h('div', {}, h('span', { class: 'num' }, n), ` ${entry.port.service}/${entry.port.name} · ${palette[entry.state].label.toLowerCase()}`));
  return [
    h('div', { class: 'tip-head' }, h('span', { class: 'num' }, `${first}–${last}`)),
    h('div', {}, mapStates.filter((state) => tally.has(state)).map((state) => `${tally.get(state)} ${palette[state].label.toLowerCase()}`).join(', ')),
    ...held.slice(0, 5),
    held.length > 5 ? h('div', { class: 'muted' }, `and ${held.length - 5} more`) : null,
    h('div', { class: 'muted' }, 'click for these numbers one by one'),
  ].filter((line) => line !== null);
}

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
function detailBlock(map, start, env, reserved, ui, ctx) {
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
