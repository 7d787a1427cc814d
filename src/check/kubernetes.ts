import type { Extraction } from '../register/conflicts/definition.ts';
import { kubernetesPorts, labelOf } from '../register/conflicts/kubernetes-ports.ts';
import { asRecord, type YamlDoc } from './yaml-input.ts';

/** A Kubernetes object: a mapping with string `apiVersion` and `kind`. */
export function isKubernetesObject(value: unknown): boolean {
  const object = asRecord(value);
  return typeof object?.apiVersion === 'string' && typeof object.kind === 'string';
}

/**
 * Port numbers of the Kubernetes objects of one YAML document (a `List`'s items too), each at
 * its line; which numbers count and how is `kubernetesPorts`, shared with the admission webhook.
 * The service is `--service`, else the `app.kubernetes.io/name` label (of the object, then of
 * its pod template), else the object's name.
 */
export function kubernetesDefinitions(doc: YamlDoc, serviceOverride: string | undefined, out: Extraction): void {
  const source = { file: doc.file, where: `${doc.file}#${doc.index}`, lineOf: doc.lineOf };
  kubernetesPorts(doc.value, [], source, (object, template) => serviceOverride ?? appName(object) ?? appName(template) ?? objectName(object), out);
}

function appName(object: Record<string, unknown> | undefined): string | undefined {
  return labelOf(object, 'app.kubernetes.io/name');
}

function objectName(object: Record<string, unknown>): string {
  const name = asRecord(object.metadata)?.name;
  return typeof name === 'string' && name !== '' ? name : String(object.kind).toLowerCase();
}
