import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../../src/shared/config/load.ts';
import { ConfigError } from '../../../../src/shared/config/config-error.ts';
import { listenerConfig, sidecarSchema } from '../../../../src/shared/config/sidecar-schema.ts';

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

  it('refuses an alias that names no anchor, and an alias bomb, at the alias, as unreadable', () => {
    const refusal = (text: string) => {
      try {
        parseConfigText(text, 'sidecar.yaml', sidecarSchema, {});
      } catch (err) {
        return err;
      }
      return undefined;
    };
    expect(refusal(`${minimal}log: *nowhere\n`)).toMatchObject({ code: 'config_unreadable', message: expect.stringMatching(/^sidecar\.yaml:6: Unresolved alias/) });
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]'].join('\n');
    expect(refusal(bomb)).toMatchObject({ code: 'config_unreadable', message: expect.stringMatching(/^sidecar\.yaml:2: Excessive alias count/) });
    // an override YAML cannot read is judged as the text it is
    expect(issuesOf(minimal, { PORTWARDEN_ADMIN_LISTEN: '[*a]' })).toEqual(['env PORTWARDEN_ADMIN_LISTEN: admin.listen: "[*a]" is not host:port (e.g. 127.0.0.1:8443 or [::1]:8443)']);
  });

  it('applies PORTWARDEN_* overrides and blames the variable for a bad one', () => {
    const config = parseConfigText(minimal, 'sidecar.yaml', sidecarSchema, { PORTWARDEN_ADMIN_LISTEN: '0.0.0.0:9902', PORTWARDEN_AUTHORITY_REFRESH: '5s' });
    expect(config.admin.listen).toEqual({ host: '0.0.0.0', port: 9902 });
    expect(config.authority.refresh).toBe(5000);
    expect(issuesOf(minimal, { PORTWARDEN_SHUTDOWN_TIMEOUT: 'soon' })).toEqual([
      'env PORTWARDEN_SHUTDOWN_TIMEOUT: shutdown_timeout: must be a duration such as 500ms, 30s, 15m, 24h or 30d',
    ]);
  });

  it('takes the client certificate for the authority as authority.cert and authority.key together, refusing one without the other', () => {
    const withAuthority = (lines: string) => `service: payments\nauthority:\n  url: https://authority:7400\n${lines}ports:\n  - { name: api, listen: 127.0.0.1:8443, upstream: 127.0.0.1:8080 }\n`;
    const config = parseConfigText(withAuthority('  ca: ca.pem\n  cert: tls.crt\n  key: tls.key\n'), 'sidecar.yaml', sidecarSchema, {});
    expect(config.authority).toMatchObject({ ca: 'ca.pem', cert: 'tls.crt', key: 'tls.key' });
    expect(issuesOf(withAuthority('  cert: tls.crt\n'))).toEqual(['sidecar.yaml:2: authority.key: required with authority.cert: the client certificate needs its key']);
    expect(issuesOf(withAuthority('  key: tls.key\n'))).toEqual(['sidecar.yaml:2: authority.cert: required with authority.key: the key needs its client certificate']);
    // the same variables the CLI reads for --authority-cert and --authority-key set them
    const tlsEnv = { PORTWARDEN_AUTHORITY_URL: 'https://authority:7400', PORTWARDEN_AUTHORITY_CERT: '/run/tls.crt', PORTWARDEN_AUTHORITY_KEY: '/run/tls.key' };
    const fromEnv = parseConfigText(minimal, 'sidecar.yaml', sidecarSchema, tlsEnv);
    expect(fromEnv.authority).toMatchObject({ cert: '/run/tls.crt', key: '/run/tls.key' });
    // with a plaintext URL they would go unused: refused, each by name
    const plaintext = withAuthority('  ca: ca.pem\n  cert: tls.crt\n  key: tls.key\n').replace('https://', 'http://');
    expect(issuesOf(plaintext)).toEqual(['ca', 'cert', 'key'].map((key, i) => `sidecar.yaml:${4 + i}: authority.${key}: only used with an https:// authority url`));
  });

  it('reads listen as one host:port or a list of them, and gives each listener its one address', () => {
    const one = parseConfigText(minimal, 'sidecar.yaml', sidecarSchema, {});
    expect(one.ports[0]?.listens).toEqual([{ host: '127.0.0.1', port: 8443 }]);
    expect(one.ports[0]).not.toHaveProperty('listen');
    const block = 'service: payments\nports:\n  - name: api\n    listen:\n      - 0.0.0.0:20001\n      - "[::]:20050"\n    upstream: 127.0.0.1:8080\n';
    const flow = 'service: payments\nports:\n  - name: api\n    listen: [0.0.0.0:20001, "[::]:20050"]\n    upstream: 127.0.0.1:8080\n';
    for (const text of [block, flow]) {
      const port = parseConfigText(text, 'sidecar.yaml', sidecarSchema, {}).ports[0]!;
      expect(port.listens).toEqual([
        { host: '0.0.0.0', port: 20001 },
        { host: '::', port: 20050 },
      ]);
      expect(port.listens.map((address) => listenerConfig(port, address).listen.port)).toEqual([20001, 20050]);
      expect(listenerConfig(port, port.listens[1]!)).toMatchObject({ name: 'api', upstream: { port: 8080 } });
      expect(listenerConfig(port, port.listens[1]!)).not.toHaveProperty('listens');
    }
  });

  it('hands out a frozen configuration: no part of the process can change what the others read', () => {
    const config = parseConfigText(minimal, 'sidecar.yaml', sidecarSchema, {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => Object.assign(config.ports[0]!.listens[0]!, { port: 1 })).toThrow(TypeError);
    expect(() => (config.ports as unknown as unknown[]).push({})).toThrow(TypeError);
    expect(config.ports[0]?.listens[0]?.port).toBe(8443);
  });

  it('names the entry of a listen list that is wrong, and refuses an empty list or another type', () => {
    const text = 'service: payments\nports:\n  - name: api\n    listen:\n      - 0.0.0.0:20001\n      - nope\n    upstream: 127.0.0.1:8080\n';
    expect(issuesOf(text)).toEqual(['sidecar.yaml:6: ports[0].listen[1]: "nope" is not host:port (e.g. 127.0.0.1:8443 or [::1]:8443)']);
    expect(issuesOf(minimal.replace('listen: 127.0.0.1:8443', 'listen: []'))).toEqual(['sidecar.yaml:4: ports[0].listen: must list at least one host:port']);
    expect(issuesOf(minimal.replace('listen: 127.0.0.1:8443', 'listen: 8443'))).toEqual(['sidecar.yaml:4: ports[0].listen: must be host:port or a list of host:port']);
  });

  it('refuses an address listed twice, within one port or across ports, at the later entry', () => {
    const text = `${minimal}  - name: web\n    listen:\n      - 127.0.0.1:9000\n      - 127.0.0.1:9000\n      - 127.0.0.1:8443\n    upstream: 127.0.0.1:8081\n`;
    expect(issuesOf(text)).toEqual([
      'sidecar.yaml:9: ports[1].listen[1]: duplicates ports[1].listen[0] 127.0.0.1:9000',
      'sidecar.yaml:10: ports[1].listen[2]: duplicates ports[0].listen 127.0.0.1:8443',
    ]);
    // port 0 asks the system for a free number each time: listed twice it is two listeners
    expect(parseConfigText(minimal.replace('listen: 127.0.0.1:8443', 'listen: [127.0.0.1:0, 127.0.0.1:0]'), 'sidecar.yaml', sidecarSchema, {}).ports[0]?.listens).toHaveLength(2);
  });

  it('refuses duplicate port names and listeners', () => {
    const text = `${minimal}  - name: api\n    listen: 127.0.0.1:8443\n    upstream: 127.0.0.1:8081\n`;
    expect(issuesOf(text)).toEqual([
      'sidecar.yaml:6: ports[1].name: duplicates ports[0].name "api"',
      'sidecar.yaml:7: ports[1].listen: duplicates ports[0].listen 127.0.0.1:8443',
    ]);
  });
});
