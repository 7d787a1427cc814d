import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { kubernetesDefinitions } from '../../../../src/check/kubernetes.ts';
import { emptyExtraction } from '../../../../src/register/conflicts/definition.ts';
import { duplicateFindings } from '../../../../src/register/conflicts/duplicates.ts';
import { kubernetesPorts, podTemplateOf } from '../../../../src/register/conflicts/kubernetes-ports.ts';
import { extractText } from '../../check/extract-helper.ts';

const fixture = () => readFile(new URL('../../../fixtures/check/payments.k8s.yaml', import.meta.url), 'utf8');

/** The extraction of plain objects, as the admission webhook does: no lines, places instead. */
function fromObjects(text: string) {
  const out = emptyExtraction();
  for (const doc of parseAllDocuments(text)) kubernetesPorts(doc.toJS(), [], { file: 'object', where: 'object' }, () => 'payments', out);
  return out;
}

describe('Kubernetes ports of plain objects', () => {
  it('finds the same definitions as portwarden check reads from the file, each with a place instead of a line', async () => {
    const text = await fixture();
    const fromFile = extractText(kubernetesDefinitions, text);
    const plain = fromObjects(text);
    const shape = (d: (typeof plain.definitions)[number]) => [d.field, d.number, d.protocol, d.registered, d.hostBound, d.name];
    expect(plain.definitions.map(shape)).toEqual(fromFile.definitions.map(shape));
    expect(plain.definitions.every((d) => d.line === 0)).toBe(true);
    expect(fromFile.definitions.every((d) => d.place === undefined && d.line > 0)).toBe(true);
    expect(plain.definitions.map((d) => d.place)).toEqual([
      'initContainers[portwarden].ports[api]',
      'initContainers[portwarden].ports[metrics]',
      'containers[app].ports[http]',
      'ports[api]',
      'ports[api]',
      'ports[debug]',
      'ports[debug]',
    ]);
  });

  it('names the earlier place in a collision inside one object, and places problems and notes', () => {
    const out = fromObjects(`apiVersion: v1
kind: Pod
metadata: { name: odd }
spec:
  containers:
    - name: a
      ports: [{ containerPort: 20001 }, { containerPort: http }, { containerPort: 20002, protocol: SCTP }]
    - ports: [{ name: web, containerPort: 20001 }]
`);
    expect(duplicateFindings(out.definitions).map((f) => `${f.place}: ${f.message}`)).toEqual(['containers[1].ports[web]: containerPort 20001/tcp is already bound in the same pod at containers[a].ports[0]']);
    expect(out.problems).toEqual([{ file: 'object', line: 0, place: 'containers[a].ports[1]', message: 'containerPort "http" is not a port number (1-65535)' }]);
    expect(out.notes).toEqual([{ file: 'object', line: 0, place: 'containers[a].ports[2]', message: 'protocol SCTP is not checked (tcp and udp only)' }]);
  });

  it('finds the pod template of every workload kind', () => {
    const template = { metadata: { labels: { a: 'b' } }, spec: {} };
    expect(podTemplateOf({ kind: 'Deployment', spec: { template } })).toBe(template);
    expect(podTemplateOf({ kind: 'CronJob', spec: { jobTemplate: { spec: { template } } } })).toBe(template);
    expect(podTemplateOf({ kind: 'Pod', spec: {} })).toBeUndefined();
    expect(podTemplateOf({ kind: 'Service', spec: {} })).toBeUndefined();
  });
});
