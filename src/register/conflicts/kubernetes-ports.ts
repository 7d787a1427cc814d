import type { Protocol } from '../port-record.ts';
import type { DefinitionField, Extraction, PortDefinition } from './definition.ts';
import { asArray, asPortNumber, asRecord } from './plain-values.ts';

/** A path into a parsed object: keys and array indexes. */
export type ObjectPath = readonly (string | number)[];

/** Where each workload kind keeps its pod spec. */
export const podSpecPaths: Readonly<Record<string, ObjectPath>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** True for the kinds whose port numbers are read: the workloads above, and Service. */
export function hasPorts(kind: string): boolean {
  return kind === 'Service' || Object.hasOwn(podSpecPaths, kind);
}

/** Where one object came from, and how its definitions name their file and lines. */
export interface KubernetesSource {
  /** The definitions' `file`. */
  file: string;
  /** Names the object uniquely among the inputs: each pod and each Service is its own number space. */
  where: string;
  /**
   * The line of the node at `path` (from the document's root). Without it (an object that
   * came as JSON, not from a file) definitions have line 0 and a `place` such as
   * `containers[app].ports[http]` instead.
   */
  lineOf?: ((path: ObjectPath) => number) | undefined;
}

/** The service an object's ports belong to; `template` is the pod template of a workload. */
export type ServiceOf = (object: Record<string, unknown>, template: Record<string, unknown> | undefined) => string;

/**
 * Port numbers of a Kubernetes object (a `List`'s items too), as plain parsed data: what both
 * `portwarden check` (YAML files, with lines) and the admission webhook (an AdmissionReview's
 * object) judge, so the two cannot drift.
 * - workloads' `containerPort` (containers and init containers, which include native
 *   sidecars): the register's number, inside the pod's own network namespace, so reserved
 *   numbers do not apply, unless the pod uses `hostNetwork`;
 * - `hostPort`: the register's number, bound on the node, so reserved numbers apply;
 * - Service `port`: the register's number, on the Service's virtual IP;
 * - Service `targetPort`: where the Service forwards (the containerPort it names is checked);
 * - Service `nodePort`: inside the cluster's NodePort range (30000-32767) by design, which is
 *   why the register reserves that range; only two node ports that collide are reported.
 * Ephemeral containers are left out: Kubernetes refuses ports on them.
 */
export function kubernetesPorts(value: unknown, at: ObjectPath, source: KubernetesSource, serviceOf: ServiceOf, out: Extraction): void {
  const object = asRecord(value);
  if (!object) return;
  if (object.kind === 'List') {
    asArray(object.items).forEach((item, i) => kubernetesPorts(item, [...at, 'items', i], source, serviceOf, out));
    return;
  }
  const kind = String(object.kind);
  const podSpecPath = podSpecPaths[kind];
  const where = `${source.where}${at.length > 0 ? `/${at.join('.')}` : ''}`;
  const context = { source, at, where, out };
  if (podSpecPath) workloadPorts(context, object, podSpecPath, serviceOf);
  else if (kind === 'Service') servicePorts(context, object, serviceOf);
}

/** The pod template of a workload (`spec.template`, a CronJob's `spec.jobTemplate.spec.template`); undefined for a Pod or another kind. */
export function podTemplateOf(object: Record<string, unknown>): Record<string, unknown> | undefined {
  const path = podSpecPaths[String(object.kind)];
  return path && path.length > 1 ? asRecord(dig(object, path.slice(0, -1))) : undefined;
}

/** The object's label `key`, when it is a non-empty string. */
export function labelOf(object: Record<string, unknown> | undefined, key: string): string | undefined {
  return stringOr(asRecord(asRecord(object?.metadata)?.labels)?.[key]);
}

interface Context {
  source: KubernetesSource;
  at: ObjectPath;
  where: string;
  out: Extraction;
}

function workloadPorts(context: Context, object: Record<string, unknown>, specPath: ObjectPath, serviceOf: ServiceOf): void {
  const service = serviceOf(object, podTemplateOf(object));
  const spec = asRecord(dig(object, specPath)) ?? {};
  const hostNetwork = spec.hostNetwork === true;
  for (const list of ['initContainers', 'containers'] as const) {
    asArray(spec[list]).forEach((entry, c) => {
      const container = asRecord(entry);
      const containerName = stringOr(container?.name) ?? String(c);
      asArray(container?.ports).forEach((item, p) => {
        const port = asRecord(item) ?? {};
        const path = [...context.at, ...specPath, list, c, 'ports', p];
        const place = `${list}[${containerName}].ports[${stringOr(port.name) ?? p}]`;
        const protocol = protocolOf(context, port, path, place);
        if (!protocol) return;
        const base = { path, place, service, protocol, name: stringOr(port.name) };
        add(context, base, 'containerPort', port.containerPort, true, {
          registered: true,
          hostBound: hostNetwork,
          // a hostNetwork pod binds its container ports on whichever node it lands on
          ...(hostNetwork ? nodeSpace : { space: `pod:${context.where}`, spaceLabel: 'the same pod' }),
          hostIp: stringOr(port.hostIP),
        });
        // with hostNetwork, hostPort must equal containerPort: the one definition covers both
        if (port.hostPort !== undefined && !hostNetwork) {
          add(context, base, 'hostPort', port.hostPort, false, { registered: true, hostBound: true, ...nodeSpace, hostIp: stringOr(port.hostIP) });
        }
      });
    });
  }
}

function servicePorts(context: Context, object: Record<string, unknown>, serviceOf: ServiceOf): void {
  const service = serviceOf(object, undefined);
  asArray(asRecord(object.spec)?.ports).forEach((item, p) => {
    const port = asRecord(item) ?? {};
    const path = [...context.at, 'spec', 'ports', p];
    const place = `ports[${stringOr(port.name) ?? p}]`;
    const protocol = protocolOf(context, port, path, place);
    if (!protocol) return;
    const base = { path, place, service, protocol, name: stringOr(port.name) };
    add(context, base, 'port', port.port, true, { registered: true, hostBound: false, space: `svc:${context.where}`, spaceLabel: 'the same Service' });
    // a named targetPort refers to a containerPort by name; only a number is a definition
    if (typeof port.targetPort === 'number') add(context, base, 'targetPort', port.targetPort, false, { registered: false, hostBound: false, space: '', spaceLabel: '' });
    if (port.nodePort !== undefined) {
      add(context, base, 'nodePort', port.nodePort, false, { registered: false, hostBound: false, space: 'nodeport', spaceLabel: "the cluster's node ports" });
    }
  });
}

const nodeSpace = { space: 'node', spaceLabel: "the cluster's nodes" };

interface Base {
  path: ObjectPath;
  place: string;
  service: string;
  protocol: Protocol;
  name: string | undefined;
}

type Traits = Pick<PortDefinition, 'registered' | 'hostBound' | 'space' | 'spaceLabel' | 'hostIp'>;

function add(context: Context, base: Base, field: DefinitionField, value: unknown, required: boolean, traits: Traits): void {
  const { source, out } = context;
  const at = locate(source, [...base.path, field], base.place);
  if (value === undefined && !required) return;
  const number = asPortNumber(value);
  if (number === undefined) {
    const what = value === undefined ? 'is missing' : `${JSON.stringify(value)} is not a port number (1-65535)`;
    out.problems.push({ ...at, message: `${field} ${what}` });
    return;
  }
  out.definitions.push({
    ...at,
    kind: 'kubernetes',
    field,
    service: base.service,
    name: base.name,
    number,
    protocol: base.protocol,
    ...traits,
  });
}

function protocolOf(context: Context, port: Record<string, unknown>, path: ObjectPath, place: string): Protocol | undefined {
  const protocol = port.protocol ?? 'TCP';
  if (protocol === 'TCP') return 'tcp';
  if (protocol === 'UDP') return 'udp';
  const { source, out } = context;
  out.notes.push({ ...locate(source, [...path, 'protocol'], place), message: `protocol ${String(protocol)} is not checked (tcp and udp only)` });
  return undefined;
}

/** A line where the input has lines, else line 0 and the readable place. */
function locate(source: KubernetesSource, path: ObjectPath, place: string): { file: string; line: number; place?: string } {
  return source.lineOf ? { file: source.file, line: source.lineOf(path) } : { file: source.file, line: 0, place };
}

function dig(value: unknown, path: ObjectPath): unknown {
  return path.reduce<unknown>((node, key) => (typeof key === 'number' ? asArray(node)[key] : asRecord(node)?.[key]), value);
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
