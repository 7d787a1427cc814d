// Dense, sortable tables: a click on a heading sorts by it (again: the other way), and the
// order survives the redraws live changes cause, because it lives in the page's state.

import { h } from './dom.js';

/**
 * @template T
 * @typedef {object} Column
 * @property {string} key
 * @property {string} label
 * @property {(row: T) => import('./dom.js').Children} cell
 * @property {(row: T) => string | number} [sort] what the column sorts by; not sortable without
 * @property {string} [class]
 */

/** @typedef {{ key: string, dir: 1 | -1 }} SortState */

/**
 * @template T
 * @param {{ columns: Column<T>[], rows: T[], sort: SortState, onSort: (sort: SortState) => void, rowClass?: (row: T) => string, onRow?: (row: T) => void, rowKey: (row: T) => string, test?: string }} o
 */
export function table(o) {
  const column = o.columns.find((c) => c.key === o.sort.key && c.sort);
  const rows = column?.sort ? [...o.rows].sort((a, b) => compare(column.sort?.(a) ?? '', column.sort?.(b) ?? '') * o.sort.dir) : o.rows;
  const head = h(
    'tr',
    {},
    o.columns.map((c) => {
      const sorted = c.key === o.sort.key;
      const label = [c.label, sorted ? h('span', { class: 'sort-mark' }, o.sort.dir === 1 ? '▲' : '▼') : null];
      return h(
        'th',
        { class: c.class, 'aria-sort': sorted ? (o.sort.dir === 1 ? 'ascending' : 'descending') : false, scope: 'col' },
        c.sort ? h('button', { type: 'button', class: 'th-button', onclick: () => o.onSort({ key: c.key, dir: sorted ? /** @type {1|-1} */ (-o.sort.dir) : 1 }) }, label) : label,
      );
    }),
  );
  const body = rows.map((row) =>
    h(
      'tr',
      {
        class: [o.rowClass?.(row) ?? '', o.onRow ? 'clickable' : ''].join(' ').trim() || false,
        dataset: { row: o.rowKey(row) },
        // a clickable row opens from the keyboard too
        tabindex: o.onRow ? 0 : false,
        onkeydown: o.onRow
          ? /** @param {KeyboardEvent} event */ (event) => {
              if (event.key === 'Enter' && event.target === event.currentTarget) o.onRow?.(row);
            }
          : undefined,
        onclick: o.onRow
          ? /** @param {MouseEvent} event */ (event) => {
              // links and buttons in the row do their own thing
              if (event.target instanceof Element && event.target.closest('a, button, input')) return;
              o.onRow?.(row);
            }
          : undefined,
      },
      o.columns.map((c) => h('td', { class: c.class }, c.cell(row))),
    ),
  );
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table', dataset: o.test ? { test: o.test } : {} }, h('thead', {}, head), h('tbody', {}, body)));
}

/**
 * @param {string | number} a
 * @param {string | number} b
 */
function compare(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}
