import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../../../src/shared/config/load.ts';
import { sidecarSchema } from '../../../../src/shared/config/sidecar-schema.ts';

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(text, 'sidecar.yaml', sidecarSchema, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n');
  }
  throw new Error('expected the config to be refused');
}

const minimal = 'service: payments\nports:\n  - name: api\n    listen: 127.0.0.1:8443\n    upstream: 127.0.0.1:8080\n';

describe('config loading', () => {
  it('fills every default beside the schema', () => {
    const config = parseConfigText(minimal, 'sidecar.yaml', sidecarSchema, {});
    expect(config.authority.url).toBe('http://127.0.0.1:7400');
    expect(config.authority.refresh).toBe(30_000);
    expect(config.admin.listen).toEqual({ host: '127.0.0.1', port: 9901 });
    expect(config.ports[0]).toMatchObject({ identity: { mode: 'source' }, on_revoke: 'close', max_connections: 4096, timeouts: { connect: 5000, idle: 900_000 } });
  });

  it('reports every problem at once as file:line: key: message', () => {
    const text = 'service: Payments\nauthority:\n  refreshh: 3s\nports:\n  - name: api\n    listen: nope\n    upstream: 127.0.0.1:8080\n    timeouts: { idle: 5x }\n';
    expect(issuesOf(text)).toEqual([
      'sidecar.yaml:1: service: must be lowercase letters, digits, ".", "-" or "_", 1-63 characters',
      'sidecar.yaml:3: authority: unknown key "refreshh"',
      'sidecar.yaml:6: ports[0].listen: "nope" is not host:port (e.g. 127.0.0.1:8443 or [::1]:8443)',
      'sidecar.yaml:8: ports[0].timeouts.idle: must be a duration such as 500ms, 30s, 15m, 24h or 30d',
    ]);
  });

  it('names the line of a YAML syntax error', () => {
    expect(issuesOf('service: x\nservice: y\n')).toEqual(['sidecar.yaml:2: Map keys must be unique']);
    expect(issuesOf('service: x\n\tports: 1\n')).toEqual(['sidecar.yaml:2: Tabs are not allowed as indentation']);
  });

  it('applies PORTWARDEN_* overrides and blames the variable for a bad one', () => {
    const config = parseConfigText(minimal, 'sidecar.yaml', sidecarSchema, { PORTWARDEN_ADMIN_LISTEN: '0.0.0.0:9902', PORTWARDEN_AUTHORITY_REFRESH: '5s' });
    expect(config.admin.listen).toEqual({ host: '0.0.0.0', port: 9902 });
    expect(config.authority.refresh).toBe(5000);
    expect(issuesOf(minimal, { PORTWARDEN_SHUTDOWN_TIMEOUT: 'soon' })).toEqual([
      'env PORTWARDEN_SHUTDOWN_TIMEOUT: shutdown_timeout: must be a duration such as 500ms, 30s, 15m, 24h or 30d',
    ]);
  });

  it('refuses duplicate port names and listeners', () => {
    const text = `${minimal}  - name: api\n    listen: 127.0.0.1:8443\n    upstream: 127.0.0.1:8081\n`;
    expect(issuesOf(text)).toEqual([
      'sidecar.yaml:6: ports[1].name: duplicates ports[0].name "api"',
      'sidecar.yaml:7: ports[1].listen: duplicates ports[0].listen 127.0.0.1:8443',
    ]);
  });
});
