import type { Protocol } from '../register/port-record.ts';
import type { DefinitionField, Extraction, PortDefinition } from '../register/conflicts/definition.ts';
import { asArray, asRecord, type YamlDoc } from './yaml-input.ts';

/** A compose file: a mapping whose `services` is a mapping. */
export function isComposeFile(value: unknown): boolean {
  return asRecord(asRecord(value)?.services) !== undefined;
}

/** One `ports` entry, short or long syntax, parsed. Spans are inclusive `[from, to]`. */
interface PortSpec {
  hostIp?: string | undefined;
  published?: [number, number] | undefined;
  target: [number, number];
  protocol: string;
  name?: string | undefined;
}

/**
 * Port numbers of compose services:
 * - `published` (host side of `ports`): the register's number, bound on the host, so reserved
 *   numbers apply; two services publishing the same number on the same address collide;
 * - `target` (container side) and `expose`: the register's number inside the service's own
 *   network namespace, where reserved numbers do not apply; several entries may forward to
 *   one target, so the same target twice in one service is no collision;
 * - with `network_mode: host` the container binds on the host: its target ports are host-bound
 *   and `published` is ignored, as compose ignores it.
 * Ranges (`"9090-9091:8080-8081"`) give one definition per number. Values with variable
 * interpolation (`${PORT}`) cannot be checked and are noted. The service is `--service`, else
 * the compose service's name.
 */
export function composeDefinitions(doc: YamlDoc, serviceOverride: string | undefined, out: Extraction): void {
  const services = asRecord(asRecord(doc.value)?.services) ?? {};
  for (const [key, value] of Object.entries(services)) {
    const svc = asRecord(value) ?? {};
    const service = serviceOverride ?? key;
    const hostNetwork = svc.network_mode === 'host';
    const container = hostNetwork
      ? { registered: true, hostBound: true, space: `host:${doc.file}`, spaceLabel: 'the same host' }
      : // the container's process binds its port once; several entries forwarding to it ("80:80", "8080:80") are fine
        { registered: true, hostBound: false, space: '', spaceLabel: '' };
    const emit = (field: DefinitionField, line: number, span: [number, number], protocol: Protocol, traits: Traits, spec: PortSpec) => {
      for (let number = span[0]; number <= span[1]; number++) {
        out.definitions.push({ file: doc.file, line, kind: 'compose', field, service, name: spec.name, number, protocol, ...traits, hostIp: spec.hostIp });
      }
    };
    asArray(svc.ports).forEach((entry, i) => {
      const line = doc.lineOf(['services', key, 'ports', i]);
      const spec = parseEntry(entry, line, doc.file, out);
      const protocol = spec && protocolOf(spec.protocol, line, doc.file, out);
      if (!spec || !protocol) return;
      // host side first: on a shared line, the host-facing finding reads first
      if (spec.published && !hostNetwork) {
        emit('published', line, spec.published, protocol, { registered: true, hostBound: true, space: `host:${doc.file}`, spaceLabel: 'the same host' }, spec);
      }
      emit('target', line, spec.target, protocol, container, spec);
    });
    asArray(svc.expose).forEach((entry, i) => {
      const line = doc.lineOf(['services', key, 'expose', i]);
      const spec = parseShort(String(entry), line, doc.file, out, false);
      const protocol = spec && protocolOf(spec.protocol, line, doc.file, out);
      if (spec && protocol) emit('expose', line, spec.target, protocol, container, spec);
    });
  }
}

type Traits = Pick<PortDefinition, 'registered' | 'hostBound' | 'space' | 'spaceLabel'>;

function parseEntry(entry: unknown, line: number, file: string, out: Extraction): PortSpec | undefined {
  if (typeof entry === 'number' || typeof entry === 'string') return parseShort(String(entry), line, file, out, true);
  const long = asRecord(entry);
  if (!long) {
    out.problems.push({ file, line, message: `ports entry ${JSON.stringify(entry)} is neither a string nor a mapping` });
    return undefined;
  }
  const text = `${String(long.published ?? '')}:${String(long.target ?? '')}`;
  if (text.includes('$')) return interpolated(text, line, file, out);
  if (long.target === undefined) {
    out.problems.push({ file, line, message: 'ports entry has no target (the container port)' });
    return undefined;
  }
  const target = span(long.target);
  const published = long.published === undefined || long.published === '' ? undefined : span(long.published);
  if (!target || (long.published !== undefined && long.published !== '' && !published)) {
    out.problems.push({ file, line, message: `ports entry target ${JSON.stringify(long.target)}, published ${JSON.stringify(long.published)} is not a port or range` });
    return undefined;
  }
  const protocol = typeof long.protocol === 'string' ? long.protocol : 'tcp';
  return { target, published, protocol, hostIp: typeof long.host_ip === 'string' ? long.host_ip : undefined, name: typeof long.name === 'string' ? long.name : undefined };
}

/** `[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]`; `expose` takes no host part. */
function parseShort(text: string, line: number, file: string, out: Extraction, allowHost: boolean): PortSpec | undefined {
  if (text.includes('$')) return interpolated(text, line, file, out);
  const slash = text.lastIndexOf('/');
  const protocol = slash >= 0 ? text.slice(slash + 1) : 'tcp';
  let rest = slash >= 0 ? text.slice(0, slash) : text;
  let hostIp: string | undefined;
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(rest);
  if (bracketed) [, hostIp = '', rest = ''] = bracketed;
  const parts = rest.split(':');
  if (!bracketed && parts.length === 3) hostIp = parts.shift();
  const [first, second] = parts;
  const hostText = parts.length === 2 ? first : undefined;
  const target = span(parts.length === 2 ? second : first);
  const published = hostText ? span(hostText) : undefined;
  const valid = target && parts.length <= 2 && (allowHost || (parts.length === 1 && hostIp === undefined)) && (!hostText || published);
  if (!valid || !target) {
    out.problems.push({ file, line, message: `${allowHost ? 'ports' : 'expose'} entry "${text}" is not ${allowHost ? '[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]' : 'PORT[-END][/PROTOCOL]'}` });
    return undefined;
  }
  if (published && published[1] - published[0] !== target[1] - target[0] && target[0] !== target[1]) {
    out.problems.push({ file, line, message: `ports entry "${text}" maps ranges of different lengths` });
    return undefined;
  }
  return { hostIp, published, target, protocol };
}

function span(value: unknown): [number, number] | undefined {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(String(value));
  if (!match) return undefined;
  const from = Number(match[1]);
  const to = Number(match[2] ?? match[1]);
  return from >= 1 && to <= 65_535 && from <= to ? [from, to] : undefined;
}

function protocolOf(text: string, line: number, file: string, out: Extraction): Protocol | undefined {
  const protocol = text.toLowerCase();
  if (protocol === 'tcp' || protocol === 'udp') return protocol;
  out.notes.push({ file, line, message: `protocol ${protocol} is not checked (tcp and udp only)` });
  return undefined;
}

function interpolated(text: string, line: number, file: string, out: Extraction): undefined {
  out.notes.push({ file, line, message: `"${text}" uses variable interpolation; not checked` });
  return undefined;
}
