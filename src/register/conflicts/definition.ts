import type { Protocol } from '../port-record.ts';

/** What kind of file a definition came from. */
export type InputKind = 'sidecar' | 'kubernetes' | 'compose';

/**
 * Where a definition puts its number:
 * - `listen`: a sidecar's listen port;
 * - Kubernetes `containerPort`, `hostPort`, Service `port`, `targetPort`, `nodePort`;
 * - compose `published` (host side of `ports`), `target` (container side), `expose`.
 */
export type DefinitionField = 'listen' | 'containerPort' | 'hostPort' | 'port' | 'targetPort' | 'nodePort' | 'published' | 'target' | 'expose';

/** How a field is named in messages. */
export const fieldLabels: Record<DefinitionField, string> = {
  listen: 'listen port',
  containerPort: 'containerPort',
  hostPort: 'hostPort',
  port: 'Service port',
  targetPort: 'targetPort',
  nodePort: 'nodePort',
  published: 'published port',
  target: 'container port',
  expose: 'exposed port',
};

/**
 * One port number found in an input, with what the check rules need to know about it.
 *
 * - `registered`: the number is the service's address (where callers reach it), so the
 *   register governs it: ranges, assignments, conflicts. Forwarding targets (`targetPort`)
 *   and Kubernetes node ports are not register numbers.
 * - `hostBound`: it binds on a machine's shared addresses, where the reserved numbers (system
 *   ports, etcd, the API server, the kubelet, the NodePort range) would collide. A port inside
 *   a pod's or container's own network namespace, or on a Service's virtual IP, does not.
 * - `space`: definitions with the same non-empty space bind the same socket namespace (one
 *   pod, one sidecar, one host), so the same number twice there collides even within one service.
 */
export interface PortDefinition {
  file: string;
  /** 1-based line of the number in the file; 0 for an input without lines. */
  line: number;
  /** Where in an input without lines the number is (`containers[app].ports[http]`). */
  place?: string | undefined;
  kind: InputKind;
  field: DefinitionField;
  service: string;
  /** The port's name where the input names it (sidecar `name`, Kubernetes `name`, compose long-syntax `name`). */
  name?: string | undefined;
  number: number;
  protocol: Protocol;
  registered: boolean;
  hostBound: boolean;
  /** A sidecar port with `allow_reserved_listen: true` allows a reserved number by name. */
  reservedAllowed?: boolean;
  space: string;
  /** Describes `space` in messages: "the same pod", "the same host". */
  spaceLabel: string;
  /** The address bound on, when the input gives one; absent or a wildcard binds every address. */
  hostIp?: string | undefined;
}

/** A place in an input: an unreadable part (exit 2) or a note about something skipped. */
export interface InputProblem {
  file: string;
  /** 1-based; 0 when the problem has no line (a missing file, an input without lines). */
  line: number;
  /** Where in an input without lines the problem is (`containers[app].ports[http]`). */
  place?: string | undefined;
  message: string;
}

/** `file:line: message`, or `file: message` without a line. */
export function formatProblem(problem: InputProblem, prefix = ''): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}` : problem.file;
  return `${where}: ${prefix}${problem.message}`;
}

/** What reading inputs yields: definitions, problems that make an input unreadable, notes on what was skipped. */
export interface Extraction {
  definitions: PortDefinition[];
  problems: InputProblem[];
  notes: InputProblem[];
}

/** An empty Extraction to fill. */
export function emptyExtraction(): Extraction {
  return { definitions: [], problems: [], notes: [] };
}
