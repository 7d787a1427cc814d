import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readInputText } from '../../src/check/read-inputs.ts';
import { checkDefinitions } from '../../src/register/conflicts/check.ts';
import { emptyExtraction } from '../../src/register/conflicts/definition.ts';
import { defaultPolicy } from '../../src/register/policy.ts';
import { fc, fuzz, mutatedText } from '../helpers/fuzz.ts';

const file = 'input.yaml';
const fixtures = ['payments.k8s.yaml', 'compose.yaml', 'sidecar.yaml', 'clean.yaml'].map((name) => readFileSync(`test/fixtures/check/${name}`, 'utf8'));

/**
 * What a port field might hold in a hand-written file: numbers, strings, ranges, interpolation,
 * nonsense. Ranges stay short: `1-65535` is read as 65535 ports, correctly but slowly for a fuzz case.
 */
const portValue = fc.oneof(
  fc.integer({ min: -5, max: 70_000 }),
  fc.constantFrom('8080', '20080:20080', '127.0.0.1:443:8443', '[::1]:80:80', '20053:20053/udp', '20000-20040', '20054-20055', '9-1', '${PORT}', '0x50', '', ':', '80:', 'a:b:c:d', '1e3'),
  fc.string({ maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const portEntry = fc.oneof(portValue, fc.record({ containerPort: portValue, hostPort: fc.option(portValue, { nil: undefined }), protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'x'), name: fc.string({ maxLength: 6 }) }, { requiredKeys: [] }), fc.record({ target: portValue, published: portValue, protocol: fc.constantFrom('tcp', 'udp'), host_ip: fc.constantFrom('0.0.0.0', '127.0.0.1') }, { requiredKeys: [] }));

/** Documents of the three shapes `check` reads, with any values where the ports are. */
const documents = fc.oneof(
  fc.record({ apiVersion: fc.constant('apps/v1'), kind: fc.constantFrom('Deployment', 'StatefulSet', 'DaemonSet', 'Pod', 'Job', 'Weird'), metadata: fc.record({ name: fc.string({ maxLength: 8 }), labels: fc.dictionary(fc.constantFrom('app.kubernetes.io/name', 'app'), fc.jsonValue({ maxDepth: 1 })) }), spec: fc.record({ template: fc.record({ spec: fc.record({ hostNetwork: fc.jsonValue({ maxDepth: 0 }), containers: fc.array(fc.record({ name: fc.string({ maxLength: 5 }), ports: fc.array(portEntry, { maxLength: 4 }) }), { maxLength: 3 }) }) }) }) }),
  fc.record({ apiVersion: fc.constant('v1'), kind: fc.constant('Service'), metadata: fc.record({ name: fc.string({ maxLength: 8 }) }), spec: fc.record({ type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'), ports: fc.array(fc.record({ port: portValue, targetPort: portValue, nodePort: portValue, protocol: fc.constantFrom('TCP', 'UDP') }, { requiredKeys: [] }), { maxLength: 4 }) }) }),
  fc.record({ services: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.record({ ports: fc.array(portEntry, { maxLength: 4 }), expose: fc.array(portValue, { maxLength: 3 }), network_mode: fc.constantFrom('host', 'bridge') }, { requiredKeys: [] }), { maxKeys: 3 }) }),
  fc.record({ service: fc.jsonValue({ maxDepth: 0 }), ports: fc.array(fc.record({ name: fc.jsonValue({ maxDepth: 0 }), listen: fc.oneof(portValue, fc.array(portValue, { maxLength: 3 })), upstream: portValue, allow_reserved_listen: fc.jsonValue({ maxDepth: 0 }) }, { requiredKeys: [] }), { maxLength: 3 }) }),
  fc.jsonValue({ maxDepth: 3 }),
);
const inputText = fc.oneof(
  fc.array(documents, { minLength: 1, maxLength: 3 }).map((docs) => docs.map((doc) => stringify(doc)).join('---\n')),
  fc.constantFrom(...fixtures),
  fc.constantFrom('a: *nowhere\n', 'a: &a [x, x]\nb: [*a, *a]\nports: *a\n', '%YAML 1.2\n---\n', '? [a]\n: b\n', 'services: !!binary aGk=\n'),
);

describe('the check readers (Kubernetes, compose, sidecar YAML), fuzzed', () => {
  it('answer any YAML-ish text with ports and problems that name the file and a line, and never throw', () => {
    fuzz(2_000, mutatedText(inputText, fc.constantFrom(':', '-', ' ', '\n', '  ', '"', '[', '*', '&', '#', '20001', 'ports:', '---\n')), (text) => {
      const out = emptyExtraction();
      readInputText(text, file, undefined, out);
      const lines = text.split('\n').length;
      for (const problem of [...out.problems, ...out.notes]) {
        expect(problem.file).toBe(file);
        expect(Number.isInteger(problem.line) && problem.line >= 0 && problem.line <= lines + 1).toBe(true);
        expect(problem.message).toMatch(/\S/);
      }
      for (const def of out.definitions) {
        expect(def.file).toBe(file);
        expect(Number.isInteger(def.number) && def.number >= 1 && def.number <= 65_535).toBe(true);
        expect(def.line >= 1 && def.line <= lines + 1).toBe(true);
      }
      // and the rules over whatever was read never throw either
      checkDefinitions(out.definitions, { env: 'default', policy: defaultPolicy(), now: Date.UTC(2026, 0, 1) }, [file]);
    });
  });
});
