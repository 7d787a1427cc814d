import { describe, expect, it } from 'vitest';
import { checkFiles, type CheckOptions } from '../../../src/check/check.ts';
import { checkDefinitions, type ConflictOptions } from '../../../src/register/conflicts/check.ts';
import { formatFinding } from '../../../src/register/conflicts/finding.ts';
import { defaultPolicy } from '../../../src/register/policy.ts';
import { portRecordSchema, type PortRecord } from '../../../src/register/port-record.ts';
import { readSnapshot, snapshotPolicy } from '../../../src/register/snapshot.ts';
import { kubernetesDefinitions } from '../../../src/check/kubernetes.ts';
import { sidecarDefinitions } from '../../../src/check/sidecar.ts';
import { readInputText } from '../../../src/check/read-inputs.ts';
import { emptyExtraction } from '../../../src/register/conflicts/definition.ts';
import { extractText } from './extract-helper.ts';

const dir = 'test/fixtures/check';
const k8s = `${dir}/payments.k8s.yaml`;
const compose = `${dir}/compose.yaml`;
const sidecar = `${dir}/sidecar.yaml`;
const now = Date.UTC(2026, 2, 1);

async function withRegister(env = 'prod'): Promise<CheckOptions> {
  const snapshot = await readSnapshot(`${dir}/register.json`);
  return { env, policy: snapshotPolicy(snapshot), register: { file: `${dir}/register.json`, ports: snapshot.ports }, now };
}
const snapshotPorts = (await readSnapshot(`${dir}/register.json`)).ports;
const policyOnly: CheckOptions = { env: 'default', policy: defaultPolicy(), now };
const lines = async (files: string[], options: CheckOptions) => (await checkFiles(files, options)).findings.map(formatFinding);

describe('check without a register', () => {
  it('checks a Deployment + Service against the default policy and itself', async () => {
    expect(await lines([k8s], policyOnly)).toEqual([
      `${k8s}:32: out_of_range: containerPort 8080/tcp is outside every range open to payments in default (default 20000-29999)`,
      `${k8s}:48: duplicate_in_inputs: Service port 20001/tcp is already bound in the same Service at ${k8s}:44`,
    ]);
  });

  it('checks compose short and long syntax: reserved only on the host side, collisions between services', async () => {
    expect(await lines([compose], policyOnly)).toEqual([
      `${compose}:7: reserved_port: published port 443/tcp is in the reserved range 1-1023`,
      `${compose}:7: out_of_range: container port 8443/tcp is outside every range open to web in default (default 20000-29999)`,
      `${compose}:23: out_of_range: container port 9000/tcp is outside every range open to admin in default (default 20000-29999)`,
      `${compose}:23: duplicate_in_inputs: published port 20080/tcp is also used by web at ${compose}:6`,
    ]);
  });

  it('checks a sidecar: a reserved listen port unless allowed by name', async () => {
    expect(await lines([sidecar], policyOnly)).toEqual([
      `${sidecar}:7: reserved_port: listen port 443/tcp is in the reserved range 1-1023; set allow_reserved_listen: true on the port to allow it`,
      `${sidecar}:10: out_of_range: listen port 80/tcp is outside every range open to billing in default (default 20000-29999)`,
    ]);
  });

  it('finds collisions across files, in the order the files were given', async () => {
    // billing's sidecar listens on 20010, which payments also declares as a containerPort
    expect((await lines([sidecar, k8s], policyOnly)).filter((line) => line.includes('duplicate_in_inputs'))).toEqual([
      `${k8s}:26: duplicate_in_inputs: containerPort 20010/tcp is also used by billing at ${sidecar}:4`,
      `${k8s}:48: duplicate_in_inputs: Service port 20001/tcp is already bound in the same Service at ${k8s}:44`,
    ]);
  });

  it('reads a file named twice once, so it does not collide with itself', async () => {
    expect(await lines([sidecar, sidecar], policyOnly)).toEqual(await lines([sidecar], policyOnly));
  });

  it('does not treat a nodePort in 30000-32767 as reserved, nor a targetPort as a register number', async () => {
    const report = await checkFiles([k8s], policyOnly);
    expect(report.findings.filter((f) => f.number === 30080 || f.field === 'targetPort')).toEqual([]);
    expect(report.files[0]?.ports.filter((p) => p.field === 'nodePort')).toEqual([{ line: 46, service: 'payments', field: 'nodePort', name: 'api', number: 30080, protocol: 'tcp' }]);
  });
});

describe('check against a register snapshot', () => {
  it('reports conflicts and mismatches with the registered numbers', async () => {
    expect(await lines([k8s], await withRegister())).toEqual([
      `${k8s}:26: port_conflict: containerPort 20010/tcp is registered to billing/api in prod; payments is registered at 20001/tcp (api)`,
      `${k8s}:32: assignment_mismatch: containerPort 8080/tcp does not match the register: payments is registered at 20001/tcp (api) in prod`,
      `${k8s}:48: duplicate_in_inputs: Service port 20001/tcp is already bound in the same Service at ${k8s}:44`,
    ]);
  });

  it('keeps tcp and udp apart and names the matching port when the names agree', async () => {
    expect(await lines([compose], await withRegister())).toEqual([
      `${compose}:7: reserved_port: published port 443/tcp is in the reserved range 1-1023`,
      `${compose}:7: assignment_mismatch: container port 8443/tcp does not match the register: web is registered at 20080/tcp (http) in prod`,
      `${compose}:8: assignment_mismatch: published port 20081/tcp does not match the register: web is registered at 20080/tcp (http) in prod`,
      `${compose}:19: assignment_mismatch: exposed port 20054/tcp does not match the register: dns is registered at 20053/tcp (dns-tcp) in prod`,
      `${compose}:19: assignment_mismatch: exposed port 20055/tcp does not match the register: dns is registered at 20053/tcp (dns-tcp) in prod`,
      `${compose}:23: port_conflict: published port 20080/tcp is registered to web/http in prod`,
      `${compose}:23: out_of_range: container port 9000/tcp is outside every range open to admin in prod (default 20000-29999)`,
      `${compose}:23: duplicate_in_inputs: published port 20080/tcp is also used by web at ${compose}:6`,
    ]);
  });

  it("reports a numeric targetPort that the register gives another service, not one the Service's own service holds", async () => {
    const service = (name: string, target: number) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { ports: [{ name: api, port: 20001, targetPort: ${target} }] }
`;
    const findings = (text: string) => checkDefinitions(extractText(kubernetesDefinitions, text).definitions, { env: 'prod', policy: defaultPolicy(), register: { file: 'r', ports: snapshotPorts }, now }).map(formatFinding);
    expect(findings(service('payments', 20010))).toEqual([
      "in.yaml:4: port_conflict: targetPort 20010/tcp is registered to billing/api in prod: the Service forwards to another service's port",
    ]);
    expect(findings(service('payments', 20001))).toEqual([]);
    // a number nobody holds, or a named targetPort, is not the register's business
    expect(findings(service('payments', 8080))).toEqual([]);
  });

  it('checks only the chosen environment, and notes a register without it', async () => {
    const report = await checkFiles([`${dir}/clean.yaml`], await withRegister('default'));
    expect(report.findings).toEqual([]);
    expect(report.notes).toEqual([{ file: `${dir}/register.json`, line: 0, message: 'has no ports in env "default" (it has prod, staging); check --env' }]);
    // search/http holds 20001 in staging, not in prod
    expect(await lines([`${dir}/clean.yaml`], await withRegister('staging'))).toEqual([
      `${dir}/clean.yaml:5: port_conflict: listen port 20001/tcp is registered to search/http in staging`,
    ]);
  });

  it('refuses to pick an environment for a register that has several, naming them', async () => {
    // search/http holds 20001 in staging: checked in `default` this would pass
    const report = await checkFiles([`${dir}/clean.yaml`], { ...(await withRegister()), env: undefined });
    expect(report.errors).toEqual([
      { file: `${dir}/register.json`, line: 0, message: 'holds ports in env prod, staging: pass --env with the one these inputs deploy to; nothing was checked' },
    ]);
    expect(report.findings).toEqual([]);
    // a register that only knows `default` needs no --env
    const onlyDefault = (await withRegister()).register!.ports.map((port) => ({ ...port, env: 'default' }));
    const register = { file: 'r.json', ports: onlyDefault };
    const plain = await checkFiles([`${dir}/clean.yaml`, compose], { ...(await withRegister()), env: undefined, register });
    expect(plain.errors).toEqual([]);
    expect(plain.env).toBe('default');
    expect(plain.findings.length).toBeGreaterThan(0);
    expect(plain.findings).toEqual((await checkFiles([`${dir}/clean.yaml`, compose], { ...(await withRegister('default')), register })).findings);
  });

  it('reports an alias without its anchor, and an alias bomb, as unreadable at the alias', async () => {
    const out = emptyExtraction();
    readInputText('services:\n  web:\n    ports: *nowhere\n', 'c.yaml', undefined, out);
    expect(out.problems).toEqual([{ file: 'c.yaml', line: 3, message: 'YAML: Unresolved alias (the anchor must be set before the alias): nowhere' }]);
    const bomb = emptyExtraction();
    const level = (name: string, below: string) => `${name}: &${name} [${Array(10).fill(`*${below}`).join(', ')}]`;
    readInputText(['a: &a [x, x, x, x, x, x, x, x, x, x]', level('b', 'a'), level('c', 'b'), level('d', 'c')].join('\n'), 'b.yaml', undefined, bomb);
    expect(bomb.problems).toEqual([{ file: 'b.yaml', line: 2, message: expect.stringMatching(/^YAML: Excessive alias count/) }]);
  });

  it('reads nothing further and reports every unreadable input', async () => {
    const report = await checkFiles([`${dir}/broken.yaml`, `${dir}/missing.yaml`, k8s], policyOnly);
    expect(report.findings).toEqual([]);
    expect(report.errors).toEqual([
      { file: `${dir}/broken.yaml`, line: 5, message: 'YAML: Map keys must be unique' },
      { file: `${dir}/missing.yaml`, line: 0, message: 'cannot read file (ENOENT)' },
    ]);
  });
});

describe('register rules over time and transitions', () => {
  const record = (fields: Partial<PortRecord> & { id: string; service: string }): PortRecord =>
    portRecordSchema.parse({ name: 'api', env: 'prod', number: 20001, owner: 'o', state: 'active', created_at: '2026-01-01T00:00:00Z', created_by: 'o', ...fields });
  const listen = (service: string, number: number) =>
    extractText(sidecarDefinitions, `service: ${service}\nports:\n  - name: api\n    listen: 0.0.0.0:${number}\n    upstream: 127.0.0.1:8080\n`).definitions;
  const options = (ports: PortRecord[], at: number): ConflictOptions => ({ env: 'prod', policy: defaultPolicy(), register: { file: 'r.json', ports }, now: at });

  it('reports a number another service released until exactly the end of the cool-down', () => {
    const released = Date.UTC(2026, 0, 5);
    const ports = [record({ id: '1', service: 'search', state: 'released', released_at: new Date(released).toISOString() })];
    const day = 24 * 3_600_000;
    expect(checkDefinitions(listen('payments', 20001), options(ports, released + day - 1)).map((f) => `${f.rule}: ${f.message}`)).toEqual([
      'cooling_down: listen port 20001/tcp was released by search/api at 2026-01-05T00:00:00.000Z and is free again at 2026-01-06T00:00:00.000Z',
    ]);
    expect(checkDefinitions(listen('payments', 20001), options(ports, released + day))).toEqual([]);
    // a service is never blocked by its own cool-down
    expect(checkDefinitions(listen('search', 20001), options(ports, released + 1))).toEqual([]);
  });

  it('accepts both numbers of a port in transition, and flags the old one once the transition is done', () => {
    const moving = [record({ id: '1', service: 'payments', state: 'transitioning', transition: { to: 20002, window_ends_at: '2026-01-02T00:00:00Z' } })];
    expect(checkDefinitions([...listen('payments', 20001), ...listen('payments', 20002)], options(moving, now))).toEqual([]);
    const done = [record({ id: '1', service: 'payments', number: 20002, previous_numbers: [{ number: 20001, released_at: '2026-01-02T00:00:00Z' }] })];
    expect(checkDefinitions(listen('payments', 20001), options(done, Date.UTC(2026, 0, 2, 1))).map((f) => f.message)).toEqual([
      'listen port 20001/tcp does not match the register: payments/api is registered at 20002/tcp in prod',
    ]);
  });

  it('reads both numbers of a sidecar port that lists them, and names the line of the one left over after the transition', () => {
    const both = extractText(sidecarDefinitions, 'service: payments\nports:\n  - name: api\n    listen:\n      - 0.0.0.0:20001\n      - 0.0.0.0:20002\n    upstream: 127.0.0.1:8080\n').definitions;
    const moving = [record({ id: '1', service: 'payments', state: 'transitioning', transition: { to: 20002, window_ends_at: '2026-01-02T00:00:00Z' } })];
    expect(checkDefinitions(both, options(moving, now))).toEqual([]);
    const done = [record({ id: '1', service: 'payments', number: 20002, previous_numbers: [{ number: 20001, released_at: '2026-01-02T00:00:00Z' }] })];
    expect(checkDefinitions(both, options(done, Date.UTC(2026, 0, 2, 1))).map(formatFinding)).toEqual([
      'in.yaml:5: assignment_mismatch: listen port 20001/tcp does not match the register: payments/api is registered at 20002/tcp in prod',
    ]);
  });
});
