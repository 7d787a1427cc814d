import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createAuthorityMetrics } from '../../src/authority/metrics.ts';
import { authoritySchema } from '../../src/shared/config/authority-schema.ts';
import { sidecarSchema } from '../../src/shared/config/sidecar-schema.ts';
import { errorCodes } from '../../src/shared/errors.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { schemaKeys } from '../helpers/schema-keys.ts';

const readme = readFileSync('README.md', 'utf8');

/** The rows of the markdown table that follows `heading`, as arrays of cells with backticks removed. */
function tableAfter(heading: string): string[][] {
  const start = readme.indexOf(heading);
  expect(start, `README has "${heading}"`).toBeGreaterThanOrEqual(0);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim().replaceAll('`', '')));
  }
  return rows;
}

describe('README', () => {
  it('lists every error code with its HTTP status, and no other', () => {
    const rows = tableAfter('## Error codes');
    expect(Object.fromEntries(rows.map(([code, status]) => [code, Number(status)]))).toEqual(
      Object.fromEntries(Object.entries(errorCodes).map(([code, { status }]) => [code, status])),
    );
  });

  it('lists every metric the sidecar and the authority register, and no other', async () => {
    const registry = new Registry();
    createSidecarMetrics(registry, { processDefaults: false });
    createAuthorityMetrics(registry);
    const registered = (await registry.getMetricsAsJSON()).map((metric) => metric.name).sort();
    const documented = tableAfter('## Metrics').map(([name]) => name).sort();
    expect(documented).toEqual(registered);
  });

  it('documents every sidecar configuration key, and no other', () => {
    expect(tableAfter('### Sidecar').map(([key]) => key).sort()).toEqual(schemaKeys(sidecarSchema).sort());
  });

  it('documents every authority configuration key, and no other', () => {
    expect(tableAfter('### Authority').map(([key]) => key).sort()).toEqual(schemaKeys(authoritySchema).sort());
  });

  it('keeps the quick start to the three commands', () => {
    for (const command of ['npm ci', 'npm test', 'npm start']) expect(readme).toContain(command);
  });
});
