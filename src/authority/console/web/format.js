// How times, durations and sizes read in the console: short, and relative where a person
// thinks relatively ("3m ago", "in 5h 12m"), with the exact time in a tooltip.

const units = /** @type {const} */ ([
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
]);

/**
 * `5h 12m`, `42s`: the two largest units of a span of milliseconds.
 * @param {number} ms
 */
export function span(ms) {
  let rest = Math.max(0, Math.round(ms / 1000)) * 1000;
  const parts = [];
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
    else if (parts.length > 0) break;
    if (parts.length === 2) break;
  }
  return parts.length > 0 ? parts.join(' ') : '0s';
}

/**
 * `3m ago`, `in 2h 5m`, or `never` for a missing time.
 * @param {string | null} iso
 * @param {number} [now]
 */
export function relative(iso, now = Date.now()) {
  if (iso === null) return 'never';
  const delta = Date.parse(iso) - now;
  if (Math.abs(delta) < 1000) return 'now';
  return delta > 0 ? `in ${span(delta)}` : `${span(-delta)} ago`;
}

/**
 * `2026-01-01 12:00:05 UTC`: the exact time, for tooltips and the audit trail.
 * @param {string | null} iso
 */
export function exact(iso) {
  if (iso === null) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/**
 * `1.5 MB`.
 * @param {number} bytes
 */
export function bytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const scaled = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < scaled.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${scaled[unit]}`;
}

/**
 * `12,345`.
 * @param {number} n
 */
export function count(n) {
  return n.toLocaleString('en-US');
}

/**
 * The milliseconds of a duration the API spells `30s`, `24h`, `30d`.
 * @param {string} text
 */
export function durationMs(text) {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) return 0;
  const size = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[/** @type {'ms'|'s'|'m'|'h'|'d'} */ (match[2])];
  return Number(match[1]) * size;
}
