import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createAuthorityMetrics } from '../../src/authority/metrics.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { httpOverTcp, startUp } from './up.ts';
import { headingAnchors } from '../helpers/markdown.ts';

/**
 * The alert rules and the Grafana dashboard: checked by promtool (syntax, and unit tests
 * that make each important alert fire on given series), and every metric and label they name
 * exists in the code. A live sidecar's and authority's /metrics pass `promtool check metrics`.
 */

const rulesFile = 'deploy/prometheus/portwarden-rules.yaml';
const rulesTestFile = 'deploy/prometheus/portwarden-rules.test.yaml';
const dashboardFile = 'deploy/grafana/portwarden-dashboard.json';
const run = promisify(execFile);

/**
 * promtool comes with Debian's prometheus package, not with npm: `.ci/run` installs it, so in
 * CI (`CI` set) these checks always run and a missing promtool fails them. On a developer's
 * machine without it they are skipped, and the reason is printed once.
 */
const promtoolInstalled = (() => {
  const found = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return !found.error && found.status === 0;
})();
const withPromtool = promtoolInstalled || process.env.CI ? it : it.skip;
if (!promtoolInstalled && !process.env.CI) {
  console.warn('promtool is not installed, so its checks are skipped here (CI runs them): apt-get install -y --no-install-recommends prometheus');
}

function promtool(): string {
  if (!promtoolInstalled) throw new Error('promtool is not installed. It comes with Debian\'s prometheus package: apt-get install -y --no-install-recommends prometheus');
  return 'promtool';
}

/** Every metric the code defines, with its label names (prom-client's defaults left out). */
function definedMetrics(): Map<string, Set<string>> {
  const metrics = new Map<string, Set<string>>();
  const registries: Registry[] = [createSidecarMetrics(undefined, { processDefaults: false }).registry, createAuthorityMetrics().registry];
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray() as unknown as { name: string; labelNames: string[]; type: string }[]) {
      const labels = new Set(metric.labelNames);
      metrics.set(metric.name, labels);
      if (metric.type === 'histogram') {
        for (const suffix of ['_bucket', '_sum', '_count']) metrics.set(`${metric.name}${suffix}`, new Set([...labels, ...(suffix === '_bucket' ? ['le'] : [])]));
      }
    }
  }
  return metrics;
}

/** Labels Prometheus adds to every scraped series, which rules and panels may use too. */
const targetLabels = new Set(['instance', 'job', 'namespace', 'pod', 'container', 'service', 'endpoint']);

interface Reference {
  metric: string;
  labels: string[];
  where: string;
}

/** `portwarden_*` selectors in a PromQL expression, with the label names their matchers use. */
function references(expr: string, where: string): Reference[] {
  const found: Reference[] = [];
  for (const match of expr.matchAll(/\b(portwarden_[a-z_]+)\b(\{([^}]*)\})?/g)) {
    const labels = [...(match[3] ?? '').matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)/g)].map((m) => m[1] ?? '');
    found.push({ metric: match[1] ?? '', labels, where });
  }
  return found;
}

/** Labels used in `by (...)` / `without (...)` clauses. */
function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => (m[1] ?? '').split(',').map((label) => label.trim()).filter(Boolean));
}

interface Rule {
  alert: string;
  expr: string;
  annotations?: Record<string, string>;
}

const rules = (parse(await readFile(rulesFile, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((group) => group.rules);
type Panel = { id: number; type: string; title: string; datasource?: { uid: string }; targets?: { expr: string; datasource?: { uid: string } }[]; gridPos?: unknown; panels?: Panel[] };
const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as {
  schemaVersion: number;
  uid: string;
  templating: { list: { name: string; type: string; query: unknown }[] };
  panels: Panel[];
};
const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const dashboardExprs = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ expr: target.expr, where: `panel "${panel.title}"` })));

/** Grafana's variables replaced by what they stand for, so the expression is plain PromQL. */
function plainPromql(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\w+/g, '.*');
}

function expectKnownMetrics(exprs: { expr: string; where: string }[]): void {
  const defined = definedMetrics();
  const problems: string[] = [];
  for (const { expr, where } of exprs) {
    const refs = references(expr, where);
    for (const ref of refs) {
      const labels = defined.get(ref.metric);
      if (!labels) {
        problems.push(`${ref.where}: ${ref.metric} is not a metric in src/**/metrics.ts`);
        continue;
      }
      for (const label of ref.labels) if (!labels.has(label) && !targetLabels.has(label)) problems.push(`${ref.where}: ${ref.metric} has no label ${label}`);
    }
    const allLabels = new Set(refs.flatMap((ref) => [...(defined.get(ref.metric) ?? [])]));
    for (const label of groupingLabels(expr)) if (!allLabels.has(label) && !targetLabels.has(label)) problems.push(`${where}: groups by ${label}, which none of its metrics has`);
  }
  expect(problems).toEqual([]);
}

describe('alert rules', () => {
  withPromtool('pass `promtool check rules`', async () => {
    const { stdout } = await run(promtool(), ['check', 'rules', rulesFile]);
    expect(stdout).toContain('SUCCESS');
  });

  withPromtool('fire as their unit tests expect (`promtool test rules`)', async () => {
    const { stdout } = await run(promtool(), ['test', 'rules', rulesTestFile]).catch((err: { stdout: string; stderr: string }) => {
      throw new Error(`promtool test rules failed:\n${err.stdout}${err.stderr}`);
    });
    expect(stdout).toContain('SUCCESS');
  });

  it('use only metrics and labels that exist in the code', () => {
    expectKnownMetrics(rules.map((rule) => ({ expr: rule.expr, where: `alert ${rule.alert}` })));
  });

  it('cover what an operator must hear about', () => {
    const exprs = rules.map((rule) => rule.expr).join('\n');
    for (const needle of [
      'portwarden_license_expiry_timestamp_seconds - time() < 6 * 3600',
      'portwarden_license_valid == 0',
      'time() - portwarden_authority_last_sync_timestamp_seconds > 300',
      'portwarden_authority_sync_total{result="error"}',
      'portwarden_connections_total{decision="deny"}',
      'portwarden_connections_closed_total{reason="revoked"}',
      'portwarden_telemetry_dropped_total',
      'portwarden_unregistered_listeners > 0',
      'portwarden_tls_cert_expiry_timestamp_seconds',
      'portwarden_admission_reviews_total{result="refused"}',
      'portwarden_admission_reviews_total{result="error"}',
      'portwarden_admission_view_refreshes_total{result="failed"}',
    ]) {
      expect(exprs).toContain(needle);
    }
  });

  it('link runbook sections that exist', async () => {
    const runbook = await readFile('docs/runbook.md', 'utf8');
    const anchors = new Set(headingAnchors(runbook));
    const links = rules.flatMap((rule) => [...(rule.annotations?.description ?? '').matchAll(/docs\/runbook\.md#([a-z0-9-]+)/g)].map((m) => ({ alert: rule.alert, anchor: m[1] ?? '' })));
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((link) => !anchors.has(link.anchor))).toEqual([]);
  });
});

describe('Grafana dashboard', () => {
  it('takes its Prometheus data source as the ${datasource} variable, in every panel and query', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).toBe('${datasource}');
    }
  });

  it('has unique panel ids and a place for each panel', () => {
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    // 24 columns; no two panels on the same cell
    const taken = new Map<string, string>();
    const overlaps: string[] = [];
    for (const panel of panels) {
      const { x, y, w, h } = panel.gridPos as { x: number; y: number; w: number; h: number };
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let col = x; col < x + w; col++) {
        for (let row = y; row < y + h; row++) {
          const other = taken.get(`${col},${row}`);
          if (other) overlaps.push(`${panel.title} / ${other}`);
          taken.set(`${col},${row}`, panel.title);
        }
      }
    }
    expect([...new Set(overlaps)]).toEqual([]);
  });


  it('shows connections, bytes, license expiry, last access, authority sync and telemetry drops', () => {
    const all = dashboardExprs.map((e) => e.expr).join('\n');
    for (const metric of [
      'portwarden_connections_total',
      'portwarden_connections_active',
      'portwarden_bytes_total',
      'portwarden_license_expiry_timestamp_seconds',
      'portwarden_last_access_timestamp_seconds',
      'portwarden_authority_last_sync_timestamp_seconds',
      'portwarden_authority_sync_total',
      'portwarden_telemetry_dropped_total',
    ]) {
      expect(all).toContain(metric);
    }
  });

  it('queries only metrics and labels that exist in the code', () => {
    expectKnownMetrics(dashboardExprs);
  });

  withPromtool('queries are valid PromQL (checked by promtool as recording rules)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portwarden-dashboard-'));
    try {
      const file = join(dir, 'dashboard-queries.yaml');
      const recording = dashboardExprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: plainPromql(e.expr) }));
      await writeFile(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: recording }] }));
      const { stdout } = await run(promtool(), ['check', 'rules', file]).catch((err: { stdout: string; stderr: string }) => {
        throw new Error(`a dashboard query is not valid PromQL:\n${err.stdout}${err.stderr}`);
      });
      expect(stdout).toContain(`SUCCESS: ${recording.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a live /metrics scrape of a running sidecar and authority', () => {
  let data = '';
  let up: Awaited<ReturnType<typeof startUp>> | undefined;
  let idle = '';
  let sidecar = '';
  let authority = '';

  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'portwarden-scrape-'));
    up = await startUp({ command: 'node_modules/.bin/node', args: ['bin/portwarden.js'], env: { PATH: process.env.PATH ?? '' }, dataDir: data });
    idle = `${await (await fetch(`http://127.0.0.1:${up.adminPort}/metrics`)).text()}\n${await (await fetch(`${up.authorityUrl}/metrics`)).text()}`;
    // one admitted connection, so the per-connection series have samples
    expect(await httpOverTcp(up.port)).toContain('hello from the demo upstream');
    sidecar = await (await fetch(`http://127.0.0.1:${up.adminPort}/metrics`)).text();
    authority = await (await fetch(`${up.authorityUrl}/metrics`)).text();
  });

  afterAll(async () => {
    if (up) expect(await up.stop(), up.output()).toBe(0);
    await rm(data, { recursive: true, force: true });
  });

  it('has the series the dashboard variables read before any connection, so an idle sidecar shows in the pickers', () => {
    const variables = dashboard.templating.list.flatMap((v) => (typeof v.query === 'object' && v.query ? [String((v.query as { query: string }).query)] : []));
    expect(variables.length).toBeGreaterThan(0);
    for (const query of variables) {
      const metric = /label_values\((portwarden_[a-z_]+)/.exec(query)?.[1] ?? '';
      expect(idle, `variable query ${query}`).toMatch(new RegExp(`^${metric}(\\{[^}]*\\})? `, 'm'));
    }
  });

  it('counts the admitted connection and exposes every metric the rules use', () => {
    expect(sidecar).toMatch(/^portwarden_connections_total\{port="http",decision="allow",reason=""\} 1$/m);
    const exposed = new Set([...`${sidecar}\n${authority}`.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const used = new Set(rules.flatMap((rule) => references(rule.expr, rule.alert).map((ref) => ref.metric)));
    expect([...used].filter((metric) => !exposed.has(metric))).toEqual([]);
  });

  withPromtool('passes `promtool check metrics`', async () => {
    for (const [name, text] of [['sidecar', sidecar], ['authority', authority]] as const) {
      const problems = await promtoolCheckMetrics(promtool(), text);
      expect({ name, problems }).toEqual({ name, problems: [] });
      // the per-type gauges stay, so the totals are still a sum away
      expect(text, name).toMatch(/^nodejs_active_handles\{type="[A-Za-z]+"\} \d+$/m);
    }
  });
});

/** The lines `promtool check metrics` prints for the exposition on its standard input. */
function promtoolCheckMetrics(tool: string, text: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, ['check', 'metrics']);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out.split('\n').filter((line) => line.trim() !== '');
      // 0: clean; 3: lint problems, listed one a line; anything else: it could not read the input
      if (code === 0 || code === 3) resolve(lines);
      else reject(new Error(`promtool check metrics exited ${code}: ${out}`));
    });
    child.stdin.end(text);
  });
}
