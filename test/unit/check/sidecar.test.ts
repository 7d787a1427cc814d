import { describe, expect, it } from 'vitest';
import { sidecarDefinitions } from '../../../src/check/sidecar.ts';
import { extractText } from './extract-helper.ts';

describe('sidecar configurations', () => {
  it('finds each listen port, host-bound, with its name and whether reserved numbers are allowed', () => {
    const text = `service: billing
ports:
  - name: api
    listen: 0.0.0.0:20010
    upstream: 127.0.0.1:8080
  - name: admin
    listen: "[::1]:80"
    upstream: 127.0.0.1:8081
    allow_reserved_listen: true
  - name: any
    listen: 127.0.0.1:0
    upstream: 127.0.0.1:8082
`;
    const out = extractText(sidecarDefinitions, text);
    expect(out.definitions.map(({ line, service, name, number, hostIp, hostBound, reservedAllowed }) => ({ line, service, name, number, hostIp, hostBound, reservedAllowed }))).toEqual([
      { line: 4, service: 'billing', name: 'api', number: 20010, hostIp: '0.0.0.0', hostBound: true, reservedAllowed: false },
      { line: 7, service: 'billing', name: 'admin', number: 80, hostIp: '::1', hostBound: true, reservedAllowed: true },
    ]);
    expect(out.notes).toEqual([{ file: 'in.yaml', line: 11, message: 'ports[2].listen uses port 0 (chosen by the OS); not checked' }]);
  });

  it('refuses a listen that is not host:port, and names the service after the file when the config does not', () => {
    const out = extractText(sidecarDefinitions, 'ports:\n  - name: api\n    listen: 20010\n  - name: b\n    listen: 0.0.0.0:20011\n');
    expect(out.problems).toEqual([{ file: 'in.yaml', line: 3, message: 'ports[0].listen 20010 is not host:port' }]);
    expect(out.definitions.map((d) => d.service)).toEqual(['in']);
  });

  it('reads every number of a listen list, each at its own line', () => {
    const text = `service: payments
ports:
  - name: api
    listen:
      - 0.0.0.0:20001
      - 0.0.0.0:20050
      - 127.0.0.1:0
      - nope
    upstream: 127.0.0.1:8080
  - name: web
    listen: [127.0.0.1:20060, 127.0.0.1:20061]
    upstream: 127.0.0.1:8081
`;
    const out = extractText(sidecarDefinitions, text);
    expect(out.definitions.map(({ line, name, number, hostIp }) => ({ line, name, number, hostIp }))).toEqual([
      { line: 5, name: 'api', number: 20001, hostIp: '0.0.0.0' },
      { line: 6, name: 'api', number: 20050, hostIp: '0.0.0.0' },
      { line: 11, name: 'web', number: 20060, hostIp: '127.0.0.1' },
      { line: 11, name: 'web', number: 20061, hostIp: '127.0.0.1' },
    ]);
    expect(out.notes).toEqual([{ file: 'in.yaml', line: 7, message: 'ports[0].listen[2] uses port 0 (chosen by the OS); not checked' }]);
    expect(out.problems).toEqual([{ file: 'in.yaml', line: 8, message: 'ports[0].listen[3] "nope" is not host:port' }]);
  });
});
