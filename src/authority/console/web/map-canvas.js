// One range drawn on a canvas: a cell per number (or per bucket of numbers), one fill per
// state, the first number of every few rows in the gutter, the open block framed; hovering a
// cell shows its numbers and ports, a click picks it.

import { h } from './dom.js';
import { relative } from './format.js';
import { mapStates, numberState } from './map-model.js';
import { palette, swatch } from './map-palette.js';

/** @typedef {import('./map-model.js').MapState} MapState */
/** @typedef {import('./map-model.js').RangeMap} RangeMap */
/** @typedef {import('./api-types.js').Span} Span */

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
export function drawRange(canvas, map, width, reserved, tip, outline, onPick) {
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
