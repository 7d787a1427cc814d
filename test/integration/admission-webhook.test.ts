import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAuthority, type TestAuthority } from '../helpers/authority.ts';
import { podSpecOf, postReview, registerPorts, review, reviewFixtures, scraped, startWebhookAuthority, type Json } from '../helpers/admission.ts';
import { createPki, type CertFiles, type TestCa, type TestPki } from '../helpers/pki.ts';

/**
 * The validating admission webhook over real HTTPS, fed AdmissionReview documents shaped as the
 * Kubernetes API server sends them (test/fixtures/admission), judged against a live register.
 */

let pki: TestPki;
let ca: TestCa;
let server: CertFiles;

beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('cluster-ca');
  server = await ca.issue('portwarden-authority', { ips: ['127.0.0.1'], dns: ['portwarden-authority.portwarden.svc'] });
});
afterAll(() => pki.close());

/** The namespaces the tests use: `sandbox-*` audits, `legacy` has a default service, the rest enforce. */
const namespaces = [
  { match: 'sandbox-*', mode: 'audit' },
  { match: 'legacy', service: 'payments', env: 'prod' },
  { match: 'kube-*', mode: 'off' },
];

/** An authority with the webhook and a register holding every fixture's ports (and orders/api at 20010). */
async function webhook(admission: Record<string, unknown> = {}, config: Record<string, unknown> = {}): Promise<TestAuthority> {
  const t = await startWebhookAuthority(ca, server, { namespaces, ...admission }, { config });
  await registerPorts(t, [
    ['payments', 'api', 20001],
    ['payments', 'admin', 20002],
    ['ledger', 'pg', 20100],
    ['agent', 'metrics', 20300],
    ['reports', 'progress', 20500],
    ['orders', 'api', 20010],
  ]);
  return t;
}

async function decide(t: TestAuthority, body: Json): Promise<Json> {
  const answer = await postReview(t, body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: body.request.uid } });
  return answer.body.response;
}

describe('the admission webhook', () => {
  it('allows every kind whose ports the register gives its service, answering with the review uid', async () => {
    const t = await webhook();
    expect(t.url).toMatch(/^https:/);
    for (const name of reviewFixtures) {
      const response = await decide(t, review(name));
      expect({ name, response }).toEqual({ name, response: { uid: review(name).request.uid, allowed: true } });
    }
    expect(await scraped(t, 'portwarden_admission_reviews_total', { kind: 'CronJob', result: 'allowed', rule: '' })).toBe(1);
    expect(await scraped(t, 'portwarden_admission_reviews_total', { result: 'allowed' })).toBe(reviewFixtures.length);
    expect(await scraped(t, 'portwarden_admission_review_duration_seconds_count')).toBe(reviewFixtures.length);
  });

  it('refuses a containerPort registered to another service, naming the place, the rule, the owner and what to use instead', async () => {
    const t = await webhook();
    const body = review('deployment');
    podSpecOf(body).initContainers[0].ports[0].containerPort = 20010;
    const response = await decide(t, body);
    expect(response.allowed).toBe(false);
    expect(response.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(response.status.message).toBe(
      [
        'Deployment payments/payments (service payments from pod template label portwarden.dev/service, env prod from label portwarden.dev/env): 1 port finding',
        "- initContainers[portwarden].ports[api]: port_conflict: containerPort 20010/tcp is registered to orders/api in prod; payments/api is registered at 20001/tcp; owner team-orders; use 20001, the register's number for payments/api",
      ].join('\n'),
    );
    expect(await scraped(t, 'portwarden_admission_reviews_total', { kind: 'Deployment', result: 'refused', rule: 'port_conflict' })).toBe(1);
  });

  it('offers, for a new port on a taken number, the number the register then gives it', async () => {
    const t = await webhook();
    const body = review('statefulset');
    podSpecOf(body).containers[0].ports.push({ name: 'replication', containerPort: 20010, protocol: 'TCP' });
    const response = await decide(t, body);
    const advice = /owner team-orders; (\d+) is free for ledger\/replication in range default: portwarden ports request --service ledger --name replication --number (\d+) --env prod$/.exec(response.status.message);
    expect(advice, response.status.message).not.toBeNull();
    expect(advice?.[1]).toBe(advice?.[2]);
    // asking the register as the message says gives exactly that number
    const requested = await t.api('POST', '/v1/ports', { body: { service: 'ledger', name: 'replication', env: 'prod' } });
    expect(requested.body.number).toBe(Number(advice?.[1]));
  });

  it("refuses a Service whose port or numeric targetPort is another service's number", async () => {
    const t = await webhook();
    const target = review('service');
    target.request.object.spec.ports[1].targetPort = 20010;
    const refused = await decide(t, target);
    expect(refused.allowed).toBe(false);
    expect(refused.status.message).toContain("- ports[admin]: port_conflict: targetPort 20010/tcp is registered to orders/api in prod: the Service forwards to another service's port; owner team-orders");

    const port = review('service');
    port.request.object.spec.ports[0].port = 20010;
    const second = await decide(t, port);
    expect(second.status.message).toContain('- ports[api]: port_conflict: Service port 20010/tcp is registered to orders/api in prod');
  });

  it('refuses a number another service released less than reuse_cooldown ago, until the cool-down ends', async () => {
    const t = await webhook();
    expect((await t.api('POST', `/v1/ports/${encodeURIComponent('orders/api')}/release?env=prod`, { body: {} })).status).toBe(200);
    const body = review('statefulset');
    podSpecOf(body).containers[0].ports.push({ name: 'replication', containerPort: 20010, protocol: 'TCP' });
    const response = await decide(t, body);
    expect(response.status.message).toContain(
      '- containers[db].ports[replication]: cooling_down: containerPort 20010/tcp was released by orders/api at 2026-01-01T12:00:00.000Z and is free again at 2026-01-02T12:00:00.000Z; owner team-orders;',
    );
    // the cool-down ends with the clock, not with a register change: what is left is that
    // ledger holds its other number, not this one
    t.clock.advance(24 * 3_600_000);
    const later = await decide(t, body);
    expect(later.status.message).toContain('- containers[db].ports[replication]: assignment_mismatch: containerPort 20010/tcp does not match the register: ledger is registered at 20100/tcp (pg) in prod');
  });

  it('refuses a number in a reserved range where it binds on the node', async () => {
    const t = await webhook();
    const body = review('daemonset');
    Object.assign(podSpecOf(body).containers[0].ports[0], { hostPort: 443 });
    const response = await decide(t, body);
    expect(response.allowed).toBe(false);
    expect(response.status.message).toContain('- containers[agent].ports[metrics]: reserved_port: hostPort 443/tcp is in the reserved range 1-1023; use 20300, the register\'s number for agent/metrics');
  });

  it('refuses a number outside every range open to the service and environment', async () => {
    const t = await webhook({}, { register: { ranges: [{ name: 'default', from: 20000, to: 29999 }, { name: 'payments', from: 31000, to: 31099, services: ['payments'] }] } });
    const outside = review('job');
    outside.request.object.metadata.labels['portwarden.dev/service'] = 'batch';
    podSpecOf(outside).containers[0].ports[0].containerPort = 40000;
    const response = await decide(t, outside);
    expect(response.status.message).toMatch(/- containers\[backfill\]\.ports\[progress\]: out_of_range: containerPort 40000\/tcp is outside every range open to batch in prod \(default 20000-29999\); \d+ is free for batch\/progress in range default: portwarden ports request --service batch --name progress --number \d+ --env prod$/);

    // a range limited to other services
    podSpecOf(outside).containers[0].ports[0].containerPort = 31050;
    const limited = await decide(t, outside);
    expect(limited.status.message).toContain('out_of_range: containerPort 31050/tcp is in range payments 31000-31099, which is limited to services payments; not batch in prod;');
  });

  it('refuses two containers of one pod on one number, native sidecar included', async () => {
    const t = await webhook();
    const body = review('pod');
    podSpecOf(body).containers[0].ports = [{ name: 'http', containerPort: 20001, protocol: 'TCP' }];
    const response = await decide(t, body);
    expect(response.allowed).toBe(false);
    expect(response.status.message).toContain('- containers[app].ports[http]: duplicate_in_inputs: containerPort 20001/tcp is already bound in the same pod at initContainers[portwarden].ports[api]; give each its own number');
    // the generated name is what the refusal names, as the pod has none yet
    expect(response.status.message).toMatch(/^Pod payments\/payments-6d4cf56db6-\* /);
  });

  it('refuses, in enforce, the ports of a service the register does not know, and says how to request them', async () => {
    const t = await webhook();
    const body = review('job');
    body.request.object.metadata.labels['portwarden.dev/service'] = 'batch';
    podSpecOf(body).containers[0].ports[0].containerPort = 20777;
    const response = await decide(t, body);
    expect(response.status.message).toContain(
      '- containers[backfill].ports[progress]: unregistered_service: containerPort 20777/tcp: batch holds no port in the register in prod; request it: portwarden ports request --service batch --name progress --number 20777 --env prod --owner <team>',
    );
    // once requested as printed, the same job is allowed
    await registerPorts(t, [['batch', 'progress', 20777]]);
    expect((await decide(t, body)).allowed).toBe(true);
  });

  it('takes the service from the namespace when the object has no label, and refuses when nothing names one', async () => {
    const t = await webhook();
    const unlabelled = () => {
      const body = review('pod');
      delete body.request.object.metadata.labels['portwarden.dev/service'];
      return body;
    };
    const legacy = unlabelled();
    legacy.request.namespace = 'legacy';
    expect(await decide(t, legacy)).toEqual({ uid: legacy.request.uid, allowed: true });

    const response = await decide(t, unlabelled());
    expect(response.allowed).toBe(false);
    expect(response.status.message).toContain('- no_service: no service: label the object or its pod template portwarden.dev/service=<service>, or give namespace payments a service in admission.namespaces');

    const invalid = review('pod');
    invalid.request.object.metadata.labels['portwarden.dev/service'] = 'Payments_API';
    expect((await decide(t, invalid)).status.message).toContain('invalid_label: label portwarden.dev/service names service "Payments_API", which is not a register name');
    expect(await scraped(t, 'portwarden_admission_reviews_total', { kind: 'Pod', result: 'refused', rule: 'no_service' })).toBe(1);
  });

  it('in audit mode allows, with short warnings, and counts what it would have refused', async () => {
    const t = await webhook();
    const body = review('deployment');
    body.request.namespace = 'sandbox-alice';
    podSpecOf(body).initContainers[0].ports[0].containerPort = 20010;
    podSpecOf(body).containers[0].ports = [{ name: 'debug', containerPort: 20500, protocol: 'SCTP' }];
    const response = await decide(t, body);
    expect(response.allowed).toBe(true);
    expect(response.status).toBeUndefined();
    expect(response.warnings).toEqual([
      expect.stringMatching(/^portwarden \(audit, would refuse\): initContainers\[portwarden\]\.ports\[api\]: port_conflict: containerPort 20010\/tcp is registered to orders\/api in prod/),
      'portwarden: containers[app].ports[debug]: protocol SCTP is not checked (tcp and udp only)',
    ]);
    for (const warning of response.warnings as string[]) expect(warning.length).toBeLessThanOrEqual(256);
    expect(await scraped(t, 'portwarden_admission_reviews_total', { kind: 'Deployment', result: 'warned', rule: 'port_conflict' })).toBe(1);
    // the default mode is audit: without `default_mode: enforce`, every namespace only warns
    const lenient = await webhook({ default_mode: 'audit', namespaces: [] });
    const elsewhere = review('deployment');
    podSpecOf(elsewhere).initContainers[0].ports[0].containerPort = 20010;
    expect(await decide(lenient, elsewhere)).toMatchObject({ allowed: true, warnings: [expect.stringContaining('port_conflict')] });
  });

  it('judges an UPDATE whose ports changed, and lets one through whose ports did not', async () => {
    const t = await webhook();
    // the register moved on: payments no longer holds 20002
    expect((await t.api('POST', `/v1/ports/${encodeURIComponent('payments/admin')}/release?env=prod`, { body: {} })).status).toBe(200);
    const created = await decide(t, review('deployment'));
    expect(created.status.message).toContain(
      '- initContainers[portwarden].ports[admin]: assignment_mismatch: containerPort 20002/tcp does not match the register: payments is registered at 20001/tcp (api) in prod; use a registered number, or request this one: portwarden ports request --service payments --name admin --number 20002 --env prod',
    );

    const update = review('deployment');
    update.request.operation = 'UPDATE';
    update.request.oldObject = structuredClone(update.request.object);
    podSpecOf(update).containers[0].image = 'payments:1.5';
    expect(await decide(t, update)).toEqual({ uid: update.request.uid, allowed: true });

    podSpecOf(update).initContainers[0].ports[1].containerPort = 20003;
    const changed = await decide(t, update);
    expect(changed.allowed).toBe(false);
    expect(changed.status.message).toContain('- initContainers[portwarden].ports[admin]: assignment_mismatch: containerPort 20003/tcp does not match the register');
  });

  it('allows DELETE and CONNECT, objects being deleted, kinds without ports and namespaces set to off, counting them', async () => {
    const t = await webhook();
    const conflicting = () => {
      const body = review('pod');
      podSpecOf(body).initContainers[0].ports[0].containerPort = 20010;
      return body;
    };
    const deletion = conflicting();
    Object.assign(deletion.request, { operation: 'DELETE', oldObject: deletion.request.object, object: null });
    expect(await decide(t, deletion)).toEqual({ uid: deletion.request.uid, allowed: true });
    const exec = conflicting();
    Object.assign(exec.request, { operation: 'CONNECT', subResource: 'exec', object: { apiVersion: 'v1', kind: 'PodExecOptions', stdin: true, command: ['sh'] } });
    expect(await decide(t, exec)).toEqual({ uid: exec.request.uid, allowed: true });
    const terminating = conflicting();
    terminating.request.operation = 'UPDATE';
    terminating.request.object.metadata.deletionTimestamp = '2026-01-01T12:00:00Z';
    expect((await decide(t, terminating)).allowed).toBe(true);
    const system = conflicting();
    system.request.namespace = 'kube-public';
    expect((await decide(t, system)).allowed).toBe(true);

    const configMap = review('pod');
    configMap.request.kind = { group: '', version: 'v1', kind: 'ConfigMap' };
    configMap.request.resource = { group: '', version: 'v1', resource: 'configmaps' };
    configMap.request.object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'payments' }, data: { port: '20010' } };
    expect(await decide(t, configMap)).toEqual({ uid: configMap.request.uid, allowed: true });
    expect(await scraped(t, 'portwarden_admission_reviews_total', { kind: 'other', result: 'allowed', rule: '' })).toBe(1);
    expect(await scraped(t, 'portwarden_admission_reviews_total', { kind: 'Pod', result: 'allowed', rule: '' })).toBe(4);
  });

  it('answers a malformed review with 400 and a clear error, counts and logs it, and keeps serving', async () => {
    const t = await webhook();
    const cases: [string, { raw?: string; body?: Json }, string][] = [
      ['not JSON', { raw: '{"apiVersion": "admission.k8s.io/v1",' }, 'the body is not valid JSON'],
      ['v1beta1', { body: { ...review('pod'), apiVersion: 'admission.k8s.io/v1beta1' } }, 'apiVersion: must be admission.k8s.io/v1 (set admissionReviewVersions: [v1] in the webhook configuration)'],
      ['no uid', { body: { ...review('pod'), request: { ...review('pod').request, uid: undefined } } }, 'request.uid:'],
      ['no object on CREATE', { body: { ...review('pod'), request: { ...review('pod').request, object: null } } }, 'request.object: required for CREATE'],
    ];
    for (const [what, input, message] of cases) {
      const answer = await t.api('POST', '/v1/admission/validate', { ...input, token: null });
      expect({ what, status: answer.status, code: answer.body.error?.code }).toEqual({ what, status: 400, code: 'bad_request' });
      expect(answer.body.error.message, what).toContain(message);
    }
    expect(await scraped(t, 'portwarden_admission_reviews_total', { result: 'error' })).toBe(cases.length);
    expect(await scraped(t, 'portwarden_admission_reviews_total', { kind: 'unknown', result: 'error', rule: '' })).toBe(3);
    expect(t.logs.filter((line) => line.msg === 'admission review failed' && line.code === 'bad_request')).toHaveLength(cases.length);
    expect((await decide(t, review('pod'))).allowed).toBe(true);
    expect((await t.api('GET', '/readyz', { token: null })).status).toBe(200);
  });

  it('takes a review larger than the API body limit (an object with a large annotation)', async () => {
    const t = await webhook();
    const body = review('deployment');
    body.request.object.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'] = 'x'.repeat(1_500_000);
    body.request.operation = 'UPDATE';
    body.request.oldObject = structuredClone(body.request.object);
    podSpecOf(body).initContainers[0].ports[0].containerPort = 20010;
    const response = await decide(t, body);
    expect(response.status.message).toContain('port_conflict');
  });

  it('judges from memory: the register is read once, and again only after a change or max_staleness', async () => {
    const t = await webhook({ max_staleness: '30s' });
    const body = review('job');
    body.request.object.metadata.labels['portwarden.dev/service'] = 'batch';
    podSpecOf(body).containers[0].ports[0].containerPort = 20777;
    for (let i = 0; i < 20; i++) expect((await decide(t, body)).allowed).toBe(false);
    expect(await scraped(t, 'portwarden_admission_view_refreshes_total', { result: 'ok' })).toBe(1);

    // a register change is seen by the very next review
    await registerPorts(t, [['batch', 'progress', 20777]]);
    for (let i = 0; i < 5; i++) expect((await decide(t, body)).allowed).toBe(true);
    expect(await scraped(t, 'portwarden_admission_view_refreshes_total', { result: 'ok' })).toBe(2);

    t.clock.advance(30_000);
    expect((await decide(t, body)).allowed).toBe(true);
    expect(await scraped(t, 'portwarden_admission_view_refreshes_total', { result: 'ok' })).toBe(3);
  });

  it('answers 404 not_found naming the key while admission is not enabled', async () => {
    const t = await startTestAuthority();
    const answer = await postReview(t, review('pod'));
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: { code: 'not_found', message: 'the admission webhook is not enabled (admission.enabled: true)' } });
  });
});
