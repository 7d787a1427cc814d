import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../../src/shared/config/load.ts';
import { reservedRangeOf, safeSidecarSchema, safetyIssues } from '../../../../src/sidecar/reload/safety.ts';
import { testConfig } from '../../../helpers/sidecar-harness.ts';

describe('safety rules', () => {
  it('knows the reserved ranges, and never reserves port 0', () => {
    expect([1, 80, 1023, 2379, 6443, 10250, 10259, 30000, 32767].map(reservedRangeOf)).toEqual([
      '1-1023',
      '1-1023',
      '1-1023',
      '2379-2380',
      '6443',
      '10250-10259',
      '10250-10259',
      '30000-32767',
      '30000-32767',
    ]);
    expect([0, 1024, 2381, 6444, 10260, 29999, 32768].map(reservedRangeOf)).toEqual(Array(7).fill(undefined));
  });

  it('accepts loopback upstreams in every spelling, and refuses others unless allowed by name', () => {
    const ports = ['127.0.0.1:80', '127.3.4.5:80', 'localhost:80', '[::1]:80'].map((upstream, i) => ({ name: `p${i}`, upstream }));
    expect(safetyIssues(testConfig(ports))).toEqual([]);
    expect(safetyIssues(testConfig([{ name: 'remote', upstream: '10.0.0.5:80' }]))).toEqual([
      { path: ['ports', 0, 'upstream'], message: expect.stringContaining('allow_remote_upstream') },
    ]);
    expect(safetyIssues(testConfig([{ name: 'remote', upstream: 'db.internal:5432', allow_remote_upstream: true }]))).toEqual([]);
  });

  it('refuses a reserved listen port unless allowed by name', () => {
    expect(safetyIssues(testConfig([{ name: 'https', upstream: '127.0.0.1:8080', listen: '0.0.0.0:443' }]))).toEqual([
      { path: ['ports', 0, 'listen'], message: expect.stringContaining('allow_reserved_listen') },
    ]);
    expect(safetyIssues(testConfig([{ name: 'https', upstream: '127.0.0.1:8080', listen: '0.0.0.0:443', allow_reserved_listen: true }]))).toEqual([]);
  });

  it('checks every address of a port that listens on several, naming the one that is reserved', () => {
    const ports = [{ name: 'api', upstream: '127.0.0.1:8080', listen: ['0.0.0.0:20001', '0.0.0.0:6443'] }];
    expect(safetyIssues(testConfig(ports))).toEqual([{ path: ['ports', 0, 'listen', 1], message: expect.stringContaining('port 6443 is reserved (6443)') }]);
    expect(safetyIssues(testConfig([{ ...ports[0]!, allow_reserved_listen: true }]))).toEqual([]);
    const text = ['service: payments', 'ports:', '  - name: api', '    listen:', '      - 0.0.0.0:20001', '      - 0.0.0.0:443', '    upstream: 127.0.0.1:80'].join('\n');
    expect(() => parseConfigText(text, 'sidecar.yaml', safeSidecarSchema, {})).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ line: 6, key: 'ports[0].listen[1]' })] }),
    );
  });

  it('still checks every listen address when another key of the port is wrong, so all problems show at once', () => {
    const text = ['service: payments', 'ports:', '  - name: api', '    listen: [0.0.0.0:20001, 0.0.0.0:443]', '    upstream: 127.0.0.1:80', '    timeouts: { idle: forever }'].join('\n');
    expect(() => parseConfigText(text, 'sidecar.yaml', safeSidecarSchema, {})).toThrow(
      expect.objectContaining({
        issues: [expect.objectContaining({ line: 4, key: 'ports[0].listen[1]' }), expect.objectContaining({ line: 6, key: 'ports[0].timeouts.idle' })],
      }),
    );
  });

  it('reports each refusal at its line through the loader', () => {
    const text = ['service: payments', 'ports:', '  - name: api', '    listen: 0.0.0.0:6443', '    upstream: 192.168.1.9:80'].join('\n');
    expect(() => parseConfigText(text, 'sidecar.yaml', safeSidecarSchema, {})).toThrow(
      expect.objectContaining({
        code: 'config_invalid',
        issues: [
          expect.objectContaining({ line: 4, key: 'ports[0].listen' }),
          expect.objectContaining({ line: 5, key: 'ports[0].upstream' }),
        ],
      }),
    );
  });
});
