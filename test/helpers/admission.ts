import { readFileSync } from 'node:fs';
import { startTestAuthority, type TestAuthority, type TestAuthorityOptions } from './authority.ts';
import type { CertFiles, TestCa } from './pki.ts';

// tests edit AdmissionReview documents freely
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** The AdmissionReview kinds with a fixture in test/fixtures/admission (as the API server sends them). */
export const reviewFixtures = ['pod', 'deployment', 'statefulset', 'daemonset', 'job', 'cronjob', 'service'] as const;

/** A fresh copy of a fixture AdmissionReview, to edit. */
export function review(name: (typeof reviewFixtures)[number]): Json {
  return JSON.parse(readFileSync(new URL(`../fixtures/admission/${name}.json`, import.meta.url), 'utf8')) as Json;
}

/** The pod spec of a review's object (a Pod's `spec`, a workload's template, a CronJob's job template). */
export function podSpecOf(body: Json): Json {
  const object = body.request.object;
  if (object.kind === 'Pod') return object.spec;
  if (object.kind === 'CronJob') return object.spec.jobTemplate.spec.template.spec;
  return object.spec.template.spec;
}

/** An authority serving HTTPS with `server` (signed by `ca`) and the admission webhook enabled. */
export async function startWebhookAuthority(ca: TestCa, server: CertFiles, admission: Record<string, unknown> = {}, options: TestAuthorityOptions = {}): Promise<TestAuthority> {
  return startTestAuthority({
    ...options,
    ca: ca.certPem,
    config: { ...options.config, tls: { cert: server.cert, key: server.key }, admission: { enabled: true, default_mode: 'enforce', ...admission } },
  });
}

/** Registers ports (`[service, name, number, env?]`, env prod by default). */
export async function registerPorts(t: TestAuthority, ports: [string, string, number, string?][]): Promise<void> {
  for (const [service, name, number, env = 'prod'] of ports) {
    const answer = await t.api('POST', '/v1/ports', { body: { service, name, number, env, owner: `team-${service}` } });
    if (answer.status !== 201 && answer.status !== 200) throw new Error(`registering ${service}/${name}: ${JSON.stringify(answer.body)}`);
  }
}

/** Posts an AdmissionReview as the API server does: no bearer token, JSON. */
export function postReview(t: TestAuthority, body: Json) {
  return t.api('POST', '/v1/admission/validate', { body, token: null });
}

/**
 * The sum of the series `name` whose labels include `labels`, in the authority's `/metrics` as
 * Prometheus scrapes it (0 when there is none).
 */
export async function scraped(t: TestAuthority, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await t.api('GET', '/metrics', { token: null })).body as string;
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) sum += Number(match[3]);
  }
  return sum;
}
