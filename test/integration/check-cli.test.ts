import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRules } from '../../src/register/conflicts/finding.ts';
import { tempDir } from '../helpers/tmp.ts';
import { runPortwarden } from '../helpers/cli.ts';

const dir = 'test/fixtures/check';

/** Runs the real binary from the repository root, as CI would. */
const portwarden = (...args: string[]) => runPortwarden(args);

describe('portwarden check (CLI)', () => {
  it('exits 0 and prints nothing on stdout when clean', async () => {
    const run = await portwarden('check', `${dir}/clean.yaml`, '--register', `${dir}/register.json`, '--env', 'prod');
    expect(run).toEqual({ code: 0, stdout: '', stderr: `no findings in 1 port from 1 file (env prod, register ${dir}/register.json)\n` });
  });

  it('exits 2 without --env when the register has environments, and lists them', async () => {
    const run = await portwarden('check', `${dir}/sidecar.yaml`, '--register', `${dir}/register.json`, '--format', 'json');
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({
      findings: [],
      errors: [{ file: `${dir}/register.json`, line: 0, message: 'holds ports in env prod, staging: pass --env with the one these inputs deploy to; nothing was checked' }],
    });
  });

  it('exits 1 with one file:line: rule: message line per finding', async () => {
    const run = await portwarden('check', `${dir}/sidecar.yaml`, `${dir}/payments.k8s.yaml`, '--register', `${dir}/register.json`, '--env', 'prod');
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n')).toEqual([
      `${dir}/sidecar.yaml:7: reserved_port: listen port 443/tcp is in the reserved range 1-1023; set allow_reserved_listen: true on the port to allow it`,
      `${dir}/sidecar.yaml:10: assignment_mismatch: listen port 80/tcp does not match the register: billing is registered at 20010/tcp (api) in prod`,
      `${dir}/payments.k8s.yaml:26: port_conflict: containerPort 20010/tcp is registered to billing/api in prod; payments is registered at 20001/tcp (api)`,
      `${dir}/payments.k8s.yaml:26: duplicate_in_inputs: containerPort 20010/tcp is also used by billing at ${dir}/sidecar.yaml:4`,
      `${dir}/payments.k8s.yaml:32: assignment_mismatch: containerPort 8080/tcp does not match the register: payments is registered at 20001/tcp (api) in prod`,
      `${dir}/payments.k8s.yaml:48: duplicate_in_inputs: Service port 20001/tcp is already bound in the same Service at ${dir}/payments.k8s.yaml:44`,
      '',
    ]);
    expect(run.stderr).toBe(`6 findings in 10 ports from 2 files (env prod, register ${dir}/register.json)\n`);
  });

  it('exits 2 naming every unreadable input with its line, and checks nothing', async () => {
    const run = await portwarden('check', `${dir}/broken.yaml`, `${dir}/missing.yaml`, `${dir}/sidecar.yaml`, '--offline');
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr: `${dir}/broken.yaml:5: YAML: Map keys must be unique\n${dir}/missing.yaml: cannot read file (ENOENT)\n`,
    });
  });

  it('exits 2 on a file that is neither a manifest, a compose file nor a sidecar configuration', async () => {
    const tmp = await tempDir();
    await writeFile(join(tmp, 'values.yaml'), 'replicaCount: 2\nimage: { tag: latest }\n');
    const run = await portwarden('check', join(tmp, 'values.yaml'), '--offline');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${join(tmp, 'values.yaml')}:1: is not a Kubernetes object (apiVersion, kind), a compose file (services) or a sidecar configuration (ports[].listen)`);
  });

  it('exits 2 on a bad register snapshot, with its line', async () => {
    const tmp = await tempDir();
    const register = join(tmp, 'register.json');
    await writeFile(register, '{\n  "version": 2,\n  "exported_at": "2026-01-01T00:00:00Z",\n  "policy": { "reserved": [], "ranges": [] },\n  "ports": []\n}\n');
    const run = await portwarden('check', `${dir}/clean.yaml`, '--register', register);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`${register}:2: version: Invalid input: expected 1\n`);
  });

  it('prints one JSON document with --format json, whatever the outcome', async () => {
    const found = await portwarden('check', `${dir}/compose.yaml`, '--offline', '--format', 'json');
    expect(found.code).toBe(1);
    const report = JSON.parse(found.stdout);
    expect(report.findings[0]).toEqual({
      file: `${dir}/compose.yaml`,
      line: 7,
      rule: 'reserved_port',
      message: 'published port 443/tcp is in the reserved range 1-1023',
      service: 'web',
      field: 'published',
      number: 443,
      protocol: 'tcp',
    });
    expect(report.files.map((f: { file: string; kind: string; ports: unknown[] }) => [f.file, f.kind, f.ports.length])).toEqual([[`${dir}/compose.yaml`, 'compose', 14]]);
    expect(report.notes).toEqual([{ file: `${dir}/compose.yaml`, line: 24, message: '"${ADMIN_PORT}:9001" uses variable interpolation; not checked' }]);
    expect(found.stderr).toBe('');

    const unreadable = await portwarden('check', `${dir}/missing.yaml`, '--offline', '--format', 'json');
    expect(unreadable.code).toBe(2);
    expect(JSON.parse(unreadable.stdout)).toMatchObject({ findings: [], errors: [{ file: `${dir}/missing.yaml`, line: 0, message: 'cannot read file (ENOENT)' }] });

    const clean = await portwarden('check', `${dir}/clean.yaml`, '--offline', '--format', 'json');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ env: 'default', register: null, findings: [], errors: [] });
  });

  it('lists every rule in --help, and refuses a call without files as usage', async () => {
    const help = await portwarden('check', '--help');
    expect(help.code).toBe(0);
    const listed = [...help.stdout.matchAll(/^ {2}([a-z_]+) {2,}/gm)].map((match) => match[1]);
    expect(listed).toEqual(Object.keys(checkRules));
    expect(listed).toEqual(['reserved_port', 'port_conflict', 'cooling_down', 'assignment_mismatch', 'out_of_range', 'duplicate_in_inputs']);
    const usage = await portwarden('check');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^portwarden check: usage: no input files/);
  });
});
