import { describe, expect, it } from 'vitest';
import { composeDefinitions } from '../../../src/check/compose.ts';
import { brief, extractText } from './extract-helper.ts';

/** One service with the given `ports` entries (YAML flow items), one per line from line 4. */
const withPorts = (...entries: string[]) => `services:\n  web:\n    ports:\n${entries.map((entry) => `      - ${entry}\n`).join('')}`;
const numbers = (...entries: string[]) =>
  extractText(composeDefinitions, withPorts(...entries)).definitions.map((d) => `${d.field} ${d.number}/${d.protocol}${d.hostIp ? ` on ${d.hostIp}` : ''}`);

describe('compose files', () => {
  it('reads every short syntax form', () => {
    expect(numbers('"20080"')).toEqual(['target 20080/tcp']);
    expect(numbers('20080')).toEqual(['target 20080/tcp']);
    expect(numbers('"8080:80"')).toEqual(['published 8080/tcp', 'target 80/tcp']);
    expect(numbers('"127.0.0.1:8080:80/udp"')).toEqual(['published 8080/udp on 127.0.0.1', 'target 80/udp on 127.0.0.1']);
    expect(numbers('"[::1]:8080:80"')).toEqual(['published 8080/tcp on ::1', 'target 80/tcp on ::1']);
    expect(numbers('"127.0.0.1::80"')).toEqual(['target 80/tcp on 127.0.0.1']);
    expect(numbers('"9090-9091:8080-8081"')).toEqual(['published 9090/tcp', 'published 9091/tcp', 'target 8080/tcp', 'target 8081/tcp']);
    expect(numbers('"20000-20001"')).toEqual(['target 20000/tcp', 'target 20001/tcp']);
  });

  it('reads the long syntax with its name, host address and protocol', () => {
    const out = extractText(composeDefinitions, withPorts('{ target: 80, published: "8080", host_ip: 127.0.0.1, protocol: udp, name: web-dns }', '{ target: 81 }'));
    expect(out.definitions.map(({ field, number, protocol, hostIp, name, line }) => ({ field, number, protocol, hostIp, name, line }))).toEqual([
      { field: 'published', number: 8080, protocol: 'udp', hostIp: '127.0.0.1', name: 'web-dns', line: 4 },
      { field: 'target', number: 80, protocol: 'udp', hostIp: '127.0.0.1', name: 'web-dns', line: 4 },
      { field: 'target', number: 81, protocol: 'tcp', hostIp: undefined, name: undefined, line: 5 },
    ]);
  });

  it('binds published ports on the host, and target and exposed ports inside the container', () => {
    const text = `services:
  api:
    ports: ["20001:20002"]
    expose: ["20003", "20004/udp"]
  agent:
    network_mode: host
    ports: ["20005:20005"]
`;
    const out = extractText(composeDefinitions, text);
    expect(brief(out)).toEqual(['3 published 20001/tcp api', '3 target 20002/tcp api', '4 expose 20003/tcp api', '4 expose 20004/udp api', '7 target 20005/tcp agent']);
    expect(out.definitions.map((d) => [d.field, d.hostBound])).toEqual([
      ['published', true],
      ['target', false],
      ['expose', false],
      ['expose', false],
      // with network_mode: host the container binds on the host, and compose ignores `published`
      ['target', true],
    ]);
  });

  it('takes the service from --service over the compose service name', () => {
    expect(brief(extractText(composeDefinitions, withPorts('"20001:20001"'), 'shop'))).toEqual(['4 published 20001/tcp shop', '4 target 20001/tcp shop']);
  });

  it('notes what it cannot check and refuses what is malformed', () => {
    const out = extractText(composeDefinitions, withPorts('"${PORT}:80"', '"1:2:3:4"', '"70000:80"', '"20000-20002:80-81"', '"80/sctp"', '{ published: 80 }'));
    expect(out.definitions).toEqual([]);
    expect(out.notes).toEqual([
      { file: 'in.yaml', line: 4, message: '"${PORT}:80" uses variable interpolation; not checked' },
      { file: 'in.yaml', line: 8, message: 'protocol sctp is not checked (tcp and udp only)' },
    ]);
    expect(out.problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      '5: ports entry "1:2:3:4" is not [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]',
      '6: ports entry "70000:80" is not [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]',
      '7: ports entry "20000-20002:80-81" maps ranges of different lengths',
      '9: ports entry has no target (the container port)',
    ]);
  });
});
