// The register map as data: for one environment and one range, the state of every number
// (or of every bucket of numbers, for ranges too large to draw one by one), and the counts.
// No DOM here, so the same model is drawn on a canvas and listed in the detail block.

/** @typedef {import('./api-types.js').NumberEntry} NumberEntry */
/** @typedef {import('./api-types.js').NamedRange} NamedRange */
/** @typedef {import('./api-types.js').Span} Span */

/**
 * Every state a number can be in, the most telling first: a bucket of several numbers shows
 * the first state any of them is in, so a single assignment is never hidden by free numbers.
 */
export const mapStates = /** @type {const} */ (['transitioning', 'assigned', 'requested', 'cooldown', 'reserved', 'free']);
/** @typedef {(typeof mapStates)[number]} MapState */

/**
 * Ranges of more numbers than this are drawn in buckets of several (10 numbers a cell for a
 * 10,000-number range), so every cell stays large enough to see and to point at; a click
 * opens the block of 100 numbers one by one.
 */
export const maxCells = 1_000;
const bucketSizes = [1, 2, 5, 10, 20, 50, 100, 200, 500];

/**
 * @typedef {object} RangeMap
 * @property {NamedRange} range
 * @property {number} size numbers in the range
 * @property {number} bucket numbers per cell: 1 up to `maxCells` numbers, then a round count
 * @property {Uint8Array} cells each cell's state, an index into `mapStates`
 * @property {Record<MapState, number>} counts numbers per state
 * @property {Map<number, NumberEntry[]>} entries what holds each number in use
 * @property {number | null} lowestFree the first free number, for a request that names one
 */

/**
 * The environments worth a map: `default`, those ranges are limited to, and those with ports.
 * @param {import('./api-types.js').Policy} policy
 * @param {{ env: string }[]} ports
 */
export function mapEnvs(policy, ports) {
  const envs = new Set(['default']);
  for (const range of policy.ranges) for (const env of range.envs ?? []) envs.add(env);
  for (const port of ports) envs.add(port.env);
  return [...envs].sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)));
}

/**
 * The ranges open in `env` (a range limited to other environments does not exist there).
 * @param {NamedRange[]} ranges
 * @param {string} env
 */
export function rangesIn(ranges, env) {
  return ranges.filter((range) => range.envs === null || range.envs.includes(env));
}

/**
 * The map of `range` in `env`.
 * @param {NamedRange} range
 * @param {Span[]} reserved
 * @param {NumberEntry[]} numbers the numbers in use in this environment
 * @returns {RangeMap}
 */
export function rangeMap(range, reserved, numbers) {
  const size = range.to - range.from + 1;
  const free = mapStates.indexOf('free');
  const perNumber = new Uint8Array(size).fill(free);
  for (const span of reserved) {
    for (let n = Math.max(span.from, range.from); n <= Math.min(span.to, range.to); n++) perNumber[n - range.from] = mapStates.indexOf('reserved');
  }
  /** @type {Map<number, NumberEntry[]>} */
  const entries = new Map();
  for (const entry of numbers) {
    if (entry.number < range.from || entry.number > range.to) continue;
    entries.set(entry.number, [...(entries.get(entry.number) ?? []), entry]);
    const i = entry.number - range.from;
    perNumber[i] = Math.min(perNumber[i] ?? free, mapStates.indexOf(entry.state));
  }
  const counts = /** @type {Record<MapState, number>} */ (Object.fromEntries(mapStates.map((state) => [state, 0])));
  let lowestFree = null;
  for (let i = 0; i < size; i++) {
    const state = mapStates[perNumber[i] ?? free] ?? 'free';
    counts[state]++;
    if (state === 'free' && lowestFree === null) lowestFree = range.from + i;
  }
  const bucket = bucketSizes.find((b) => size / b <= maxCells) ?? Math.ceil(size / maxCells);
  if (bucket === 1) return { range, size, bucket, cells: perNumber, counts, entries, lowestFree };
  const cells = new Uint8Array(Math.ceil(size / bucket)).fill(free);
  for (let i = 0; i < size; i++) {
    const c = Math.floor(i / bucket);
    cells[c] = Math.min(cells[c] ?? free, perNumber[i] ?? free);
  }
  return { range, size, bucket, cells, counts, entries, lowestFree };
}

/**
 * The numbers in use in `env` that no range open there holds (assigned before the policy
 * changed, or asked for explicitly outside every range).
 * @param {NamedRange[]} ranges the ranges open in the environment
 * @param {NumberEntry[]} numbers the numbers in use in this environment
 */
export function outsideRanges(ranges, numbers) {
  return numbers.filter((entry) => !ranges.some((range) => entry.number >= range.from && entry.number <= range.to));
}

/**
 * The state of `number` in the map: what holds it, else reserved or free.
 * @param {RangeMap} map
 * @param {Span[]} reserved
 * @param {number} number
 * @returns {{ state: MapState, entries: NumberEntry[] }}
 */
export function numberState(map, reserved, number) {
  const entries = map.entries.get(number) ?? [];
  if (entries.length > 0) {
    const state = mapStates[Math.min(...entries.map((entry) => mapStates.indexOf(entry.state)))] ?? 'free';
    return { state, entries };
  }
  return { state: reserved.some((span) => number >= span.from && number <= span.to) ? 'reserved' : 'free', entries };
}
