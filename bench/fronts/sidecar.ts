import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ok, startAuthority } from '../authority.ts';
import { startProgram } from '../child.ts';
import { freePort, type Front, type UpstreamPorts } from '../fronts.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'portwarden.js');
const identity = 'spiffe://bench.local/ns/load/sa/client';

/**
 * The portwarden sidecar as users run it: a real authority process, a sidecar token and one
 * license per port, and `portwarden sidecar` with identity mode `source`, telemetry on and
 * access logs at `info` (to /dev/null), fronting the same upstreams.
 */
export async function sidecarFronts(upstreams: UpstreamPorts, workDir: string): Promise<Front[]> {
  const authority = await startAuthority(workDir);
  const { token } = await authority.call<{ token: string }>('POST', '/v1/tokens', { role: 'sidecar', service: 'bench' });
  const tokenFile = join(workDir, 'sidecar.token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const ports = { http: await freePort(), echo: await freePort(), source: await freePort() };
  for (const [name, number] of Object.entries(ports)) {
    await authority.call('POST', '/v1/licenses', { service: 'bench', port_name: name, port: { number }, allow: [identity] });
  }
  const adminPort = await freePort();
  const config = {
    service: 'bench',
    authority: { url: authority.url, token_file: tokenFile, cache_dir: join(workDir, 'cache') },
    admin: { listen: `127.0.0.1:${adminPort}` },
    identities: [{ cidr: '127.0.0.0/8', identity }],
    telemetry: { spool_dir: join(workDir, 'spool'), report_interval: '5s' },
    inventory: { enabled: false },
    ports: Object.entries(ports).map(([name, number]) => ({
      name,
      listen: `127.0.0.1:${number}`,
      upstream: `127.0.0.1:${upstreams[name as keyof UpstreamPorts]}`,
      max_connections: 20_000,
    })),
  };
  const configFile = join(workDir, 'sidecar.yaml');
  writeFileSync(configFile, stringify(config));
  const sidecar = await startProgram(process.execPath, [bin, 'sidecar', '--config', configFile], () => ok(`http://127.0.0.1:${adminPort}/readyz`));
  return [
    {
      name: 'portwarden',
      ports,
      process: {
        pid: sidecar.pid,
        close: async () => {
          await sidecar.close();
          await authority.process.close();
        },
      },
    },
  ];
}
