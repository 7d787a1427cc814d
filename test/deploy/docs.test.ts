import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import { createAuthorityMetrics } from '../../src/authority/metrics.ts';
import { main } from '../../src/cli/main.ts';
import { authoritySchema } from '../../src/shared/config/authority-schema.ts';
import { sidecarSchema } from '../../src/shared/config/sidecar-schema.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { schemaKeys } from './schema-keys.ts';
import { headingAnchors } from '../helpers/markdown.ts';

/**
 * The operator guide in docs/ is kept in step with the code: every configuration key with its
 * default, every metric with its type and labels, every command it names, every link it has.
 */

const docs = Object.fromEntries(
  await Promise.all(
    (await readdir('docs')).filter((file) => file.endsWith('.md')).map(async (file) => [file, await readFile(join('docs', file), 'utf8')] as const),
  ),
);

/** The rows of the Markdown tables between `## start` and the next `## ` heading: cells, trimmed. */
function tableRows(text: string, section: string): string[][] {
  const start = text.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`no section "## ${section}"`);
  const end = text.indexOf('\n## ', start + 1);
  return text
    .slice(start, end < 0 ? undefined : end)
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim()));
}

function code(cell: string | undefined): string | undefined {
  return /^`([^`]+)`$/.exec(cell ?? '')?.[1];
}

describe('docs/configuration.md', () => {
  for (const [section, schema] of [
    ['Sidecar', sidecarSchema],
    ['Authority', authoritySchema],
  ] as const) {
    it(`lists every ${section.toLowerCase()} key the schema accepts, and no other`, () => {
      const documented = tableRows(docs['configuration.md'] ?? '', section).map((row) => code(row[0]));
      const keys = schemaKeys(schema as unknown as z.ZodType).map((key) => key.path);
      expect([...documented].sort()).toEqual([...keys].sort());
    });

    it(`gives each ${section.toLowerCase()} key the schema's default, or says it is required`, () => {
      const rows = new Map(tableRows(docs['configuration.md'] ?? '', section).map((row) => [code(row[0]), row[1] ?? ''] as const));
      const wrong: string[] = [];
      for (const key of schemaKeys(schema as unknown as z.ZodType)) {
        const cell = rows.get(key.path) ?? '';
        const written = code(cell);
        if (key.default !== undefined) {
          if (written === undefined || JSON.stringify(parse(written)) !== JSON.stringify(key.default)) wrong.push(`${key.path}: documented ${cell}, default ${JSON.stringify(key.default)}`);
        } else if (key.required !== cell.startsWith('required')) {
          wrong.push(`${key.path}: documented "${cell}", ${key.required ? 'required' : 'optional'} in the schema`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }
});

describe('docs/metrics.md', () => {
  for (const [section, registry] of [
    ['Sidecar', createSidecarMetrics(undefined, { processDefaults: false }).registry],
    ['Authority', createAuthorityMetrics().registry],
  ] as [string, Registry][]) {
    it(`lists every ${section.toLowerCase()} metric with its type and labels`, () => {
      const documented = tableRows(docs['metrics.md'] ?? '', section).map((row) => ({
        name: code(row[0]),
        type: row[1],
        labels: [...(row[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]),
      }));
      const defined = (registry.getMetricsAsArray() as unknown as { name: string; labelNames: string[]; type: string }[]).map((metric) => ({
        name: metric.name,
        type: metric.type,
        labels: [...metric.labelNames],
      }));
      const byName = (a: { name?: string }, b: { name?: string }) => (a.name ?? '').localeCompare(b.name ?? '');
      expect(documented.sort(byName)).toEqual(defined.sort(byName));
    });
  }
});

describe('the operator guide', () => {
  it('names only commands and subcommands that exist', async () => {
    const help = async (argv: string[]) => {
      let out = '';
      const stdout = new Writable({ write: (chunk: Buffer, _e, done) => ((out += chunk.toString()), done()) });
      await main(argv, { env: {}, stdout, stderr: stdout, signal: new AbortController().signal });
      return out;
    };
    const commands = new Set([...(await help(['--help'])).matchAll(/^ {2}([a-z]+)\s/gm)].map((m) => m[1]));
    // command lines are in code: fenced blocks and `inline` spans, not prose
    const named = new Map<string, Set<string>>();
    for (const [file, text] of Object.entries(docs)) {
      const codeText = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```|`([^`\n]+)`/g)].map((m) => m[1] ?? m[2] ?? '').join('\n');
      for (const [, command = '', sub] of codeText.matchAll(/(?<!-n |[/-])\bportwarden ([a-z]+)(?: ([a-z]+))?/g)) {
        if (!named.has(command)) named.set(command, new Set());
        if (sub) named.get(command)?.add(`${sub} (${file})`);
      }
    }
    const unknown = [...named.keys()].filter((command) => !commands.has(command));
    expect(unknown).toEqual([]);
    // subcommands: each one a doc names appears in its command's usage
    const missing: string[] = [];
    for (const command of ['licenses', 'tokens', 'keys', 'ports', 'config', 'drill']) {
      const usage = await help([command, '--help']);
      for (const entry of named.get(command) ?? []) {
        const sub = entry.split(' ')[0] ?? '';
        if (!new RegExp(`\\b${sub}\\b`).test(usage)) missing.push(`portwarden ${command} ${entry}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('links only files and sections that exist', async () => {
    const broken: string[] = [];
    for (const [file, text] of Object.entries(docs)) {
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1] ?? '';
        if (/^[a-z]+:/.test(target)) continue;
        const [path = '', anchor] = target.split('#');
        const resolved = path === '' ? join('docs', file) : join(dirname(join('docs', file)), path);
        const exists = await stat(resolved).then(() => true, () => false);
        if (!exists) broken.push(`${file}: ${target}`);
        else if (anchor && resolved.endsWith('.md')) {
          const headings = headingAnchors(await readFile(resolved, 'utf8'));
          if (!headings.includes(anchor)) broken.push(`${file}: ${target}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('has the pages operators look for', () => {
    expect(Object.keys(docs)).toEqual(expect.arrayContaining(['concepts.md', 'configuration.md', 'metrics.md', 'runbook.md', 'deploy.md']));
  });
});
