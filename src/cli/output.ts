import type { Writable } from 'node:stream';

/** Prints one JSON document, as every command does with `--format json`. */
export function printJson(out: Writable, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as an aligned plain-text table with the given columns (key -> heading). */
export function printTable<T extends object>(out: Writable, rows: readonly T[], columns: Partial<Record<keyof T & string, string>>): void {
  const keys = Object.keys(columns) as (keyof T & string)[];
  const cells = rows.map((row) => keys.map((key) => cellText(row[key])));
  const headings = keys.map((key) => columns[key] ?? key);
  const widths = headings.map((heading, i) => Math.max(heading.length, ...cells.map((line) => line[i]?.length ?? 0)));
  const line = (values: string[]) => values.map((value, i) => value.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  out.write(`${[line(headings), ...cells.map(line)].join('\n')}\n`);
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (Array.isArray(value)) return value.map(cellText).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
