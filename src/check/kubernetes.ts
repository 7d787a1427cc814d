import type { Protocol } from '../register/port-record.ts';
import type { DefinitionField, Extraction, PortDefinition } from '../register/conflicts/definition.ts';
import { asArray, asPortNumber, asRecord, type YamlDoc, type YamlPath } from './yaml-input.ts';

/** Where each workload kind keeps its pod spec. */
const podSpecPaths: Record<string, YamlPath> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** A Kubernetes object: a mapping with string `apiVersion` and `kind`. */
export function isKubernetesObject(value: unknown): boolean {
  const object = asRecord(value);
  return typeof object?.apiVersion === 'string' && typeof object.kind === 'string';
}

/**
 * Port numbers of Kubernetes objects (a `List`'s items too):
 * - workloads' `containerPort` (containers and init containers, which include native
 *   sidecars): the register's number, inside the pod's own network namespace, so reserved
 *   numbers do not apply, unless the pod uses `hostNetwork`;
 * - `hostPort`: the register's number, bound on the node, so reserved numbers apply;
 * - Service `port`: the register's number, on the Service's virtual IP;
 * - Service `targetPort`: where the Service forwards (the containerPort it names is checked);
 * - Service `nodePort`: inside the cluster's NodePort range (30000-32767) by design, which is
 *   why the register reserves that range; only two node ports that collide are reported.
 * The service is `--service`, else the `app.kubernetes.io/name` label (of the object, then of
 * its pod template), else the object's name.
 */
export function kubernetesDefinitions(doc: YamlDoc, serviceOverride: string | undefined, out: Extraction): void {
  visit(doc, doc.value, [], serviceOverride, out);
}

function visit(doc: YamlDoc, value: unknown, at: YamlPath, serviceOverride: string | undefined, out: Extraction): void {
  const object = asRecord(value);
  if (!object) return;
  if (object.kind === 'List') {
    asArray(object.items).forEach((item, i) => visit(doc, item, [...at, 'items', i], serviceOverride, out));
    return;
  }
  const kind = String(object.kind);
  const podSpecPath = podSpecPaths[kind];
  if (podSpecPath) workloadPorts(doc, object, at, podSpecPath, serviceOverride, out);
  else if (kind === 'Service') servicePorts(doc, object, at, serviceOverride, out);
}

function workloadPorts(doc: YamlDoc, object: Record<string, unknown>, at: YamlPath, specPath: YamlPath, override: string | undefined, out: Extraction): void {
  const template = asRecord(dig(object, specPath.slice(0, -1)));
  const service = override ?? appName(object) ?? appName(template) ?? objectName(object);
  const spec = asRecord(dig(object, specPath)) ?? {};
  const hostNetwork = spec.hostNetwork === true;
  const where = `${doc.file}#${doc.index}${at.length > 0 ? `/${at.join('.')}` : ''}`;
  for (const list of ['initContainers', 'containers'] as const) {
    asArray(spec[list]).forEach((container, c) => {
      asArray(asRecord(container)?.ports).forEach((entry, p) => {
        const port = asRecord(entry) ?? {};
        const path = [...at, ...specPath, list, c, 'ports', p];
        const protocol = protocolOf(doc, port, path, out);
        if (!protocol) return;
        const base = { doc, path, service, protocol, name: stringOr(port.name), out };
        add(base, 'containerPort', port.containerPort, true, {
          registered: true,
          hostBound: hostNetwork,
          // a hostNetwork pod binds its container ports on whichever node it lands on
          ...(hostNetwork ? nodeSpace : { space: `pod:${where}`, spaceLabel: 'the same pod' }),
          hostIp: stringOr(port.hostIP),
        });
        // with hostNetwork, hostPort must equal containerPort: the one definition covers both
        if (port.hostPort !== undefined && !hostNetwork) {
          add(base, 'hostPort', port.hostPort, false, { registered: true, hostBound: true, ...nodeSpace, hostIp: stringOr(port.hostIP) });
        }
      });
    });
  }
}

function servicePorts(doc: YamlDoc, object: Record<string, unknown>, at: YamlPath, override: string | undefined, out: Extraction): void {
  const service = override ?? appName(object) ?? objectName(object);
  const where = `${doc.file}#${doc.index}${at.length > 0 ? `/${at.join('.')}` : ''}`;
  asArray(asRecord(object.spec)?.ports).forEach((entry, p) => {
    const port = asRecord(entry) ?? {};
    const path = [...at, 'spec', 'ports', p];
    const protocol = protocolOf(doc, port, path, out);
    if (!protocol) return;
    const base = { doc, path, service, protocol, name: stringOr(port.name), out };
    add(base, 'port', port.port, true, { registered: true, hostBound: false, space: `svc:${where}`, spaceLabel: 'the same Service' });
    // a named targetPort refers to a containerPort by name; only a number is a definition
    if (typeof port.targetPort === 'number') add(base, 'targetPort', port.targetPort, false, { registered: false, hostBound: false, space: '', spaceLabel: '' });
    if (port.nodePort !== undefined) {
      add(base, 'nodePort', port.nodePort, false, { registered: false, hostBound: false, space: 'nodeport', spaceLabel: "the cluster's node ports" });
    }
  });
}

const nodeSpace = { space: 'node', spaceLabel: "the cluster's nodes" };

interface Base {
  doc: YamlDoc;
  path: YamlPath;
  service: string;
  protocol: Protocol;
  name: string | undefined;
  out: Extraction;
}

function add(base: Base, field: DefinitionField, value: unknown, required: boolean, traits: Pick<PortDefinition, 'registered' | 'hostBound' | 'space' | 'spaceLabel' | 'hostIp'>): void {
  const { doc, path, out } = base;
  const line = doc.lineOf([...path, field]);
  if (value === undefined && !required) return;
  const number = asPortNumber(value);
  if (number === undefined) {
    const what = value === undefined ? 'is missing' : `${JSON.stringify(value)} is not a port number (1-65535)`;
    out.problems.push({ file: doc.file, line, message: `${field} ${what}` });
    return;
  }
  out.definitions.push({ file: doc.file, line, kind: 'kubernetes', field, service: base.service, name: base.name, number, protocol: base.protocol, ...traits });
}

function protocolOf(doc: YamlDoc, port: Record<string, unknown>, path: YamlPath, out: Extraction): Protocol | undefined {
  const protocol = port.protocol ?? 'TCP';
  if (protocol === 'TCP') return 'tcp';
  if (protocol === 'UDP') return 'udp';
  out.notes.push({ file: doc.file, line: doc.lineOf([...path, 'protocol']), message: `protocol ${String(protocol)} is not checked (tcp and udp only)` });
  return undefined;
}

function appName(object: Record<string, unknown> | undefined): string | undefined {
  return stringOr(asRecord(asRecord(object?.metadata)?.labels)?.['app.kubernetes.io/name']);
}

function objectName(object: Record<string, unknown>): string {
  return stringOr(asRecord(object.metadata)?.name) ?? String(object.kind).toLowerCase();
}

function dig(value: unknown, path: YamlPath): unknown {
  return path.reduce<unknown>((node, key) => (typeof key === 'number' ? asArray(node)[key] : asRecord(node)?.[key]), value);
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
