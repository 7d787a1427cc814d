// The colour of each state a number can be in: one palette for the map's canvas, its legend,
// its tooltip and its block of numbers, so they can never disagree.

import { h } from './dom.js';

/** @typedef {import('./map-model.js').MapState} MapState */

/** The colour of each state, on the canvas, in the legend and in the detail block alike. */
export const palette = /** @type {Record<MapState, { bg: string, fg: string, label: string }>} */ ({
  transitioning: { bg: '#7c3aed', fg: '#ffffff', label: 'In transition' },
  assigned: { bg: '#2563eb', fg: '#ffffff', label: 'Assigned' },
  requested: { bg: '#f59e0b', fg: '#1f2937', label: 'Requested' },
  cooldown: { bg: '#0e7490', fg: '#ffffff', label: 'Cool-down' },
  reserved: { bg: '#64748b', fg: '#ffffff', label: 'Reserved' },
  free: { bg: '#e2e8f0', fg: '#334155', label: 'Free' },
});

/**
 * A small square of a state's colour.
 * @param {MapState} state
 */
export function swatch(state) {
  const el = h('span', { class: 'swatch' });
  el.style.background = palette[state].bg;
  return el;
}
