import { basename, extname } from 'node:path';
import { parseHostPort } from '../shared/address.ts';
import { formatKeyPath } from '../shared/config/load.ts';
import type { Extraction } from '../register/conflicts/definition.ts';
import { asArray, asRecord, type YamlDoc } from './yaml-input.ts';

/** A sidecar configuration: a mapping with a `ports` list whose entries have `listen`. */
export function isSidecarConfig(value: unknown): boolean {
  const ports = asRecord(value)?.ports;
  return Array.isArray(ports) && ports.some((port) => asRecord(port)?.listen !== undefined);
}

/**
 * A sidecar's `ports[].listen` numbers: one `host:port`, or each of a list (a port listening on
 * several numbers, as during a transition), each at its own line. The sidecar binds them on its
 * own addresses, so they are host-bound (reserved numbers apply unless the port sets
 * `allow_reserved_listen`) and they are the register's numbers. `upstream` is where the sidecar
 * forwards: not checked. Port 0 (the OS picks) is skipped. The service is `--service`, else
 * `service`, else the file name.
 */
export function sidecarDefinitions(doc: YamlDoc, serviceOverride: string | undefined, out: Extraction): void {
  const config = asRecord(doc.value) ?? {};
  const named = typeof config.service === 'string' ? config.service : undefined;
  const service = serviceOverride ?? named ?? basename(doc.file, extname(doc.file));
  asArray(config.ports).forEach((entry, index) => {
    const port = asRecord(entry);
    if (port?.listen === undefined) return;
    const listens: { value: unknown; path: (string | number)[] }[] = Array.isArray(port.listen)
      ? port.listen.map((value: unknown, at) => ({ value, path: ['ports', index, 'listen', at] }))
      : [{ value: port.listen, path: ['ports', index, 'listen'] }];
    for (const { value, path } of listens) {
      const line = doc.lineOf(path);
      const key = formatKeyPath(path);
      const listen = typeof value === 'string' ? parseHostPort(value) : undefined;
      if (!listen) {
        out.problems.push({ file: doc.file, line, message: `${key} ${JSON.stringify(value)} is not host:port` });
        continue;
      }
      if (listen.port === 0) {
        out.notes.push({ file: doc.file, line, message: `${key} uses port 0 (chosen by the OS); not checked` });
        continue;
      }
      out.definitions.push({
        file: doc.file,
        line,
        kind: 'sidecar',
        field: 'listen',
        service,
        name: typeof port.name === 'string' ? port.name : undefined,
        number: listen.port,
        protocol: 'tcp',
        registered: true,
        hostBound: true,
        reservedAllowed: port.allow_reserved_listen === true,
        space: `sidecar:${doc.file}#${doc.index}`,
        spaceLabel: 'the same sidecar',
        hostIp: listen.host,
      });
    }
  });
}
