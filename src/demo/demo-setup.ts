import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Authority } from '../authority/authority.ts';
import type { LicenseView } from '../authority/licenses/view.ts';

export const demoService = 'demo';
export const demoPortName = 'http';
export const demoIdentity = 'spiffe://demo.local/ns/default/sa/local-client';
const actor = { id: 'portwarden-up' };

/** The sidecar token of the demo service, reused across restarts while it is still valid. */
export async function ensureDemoSidecarToken(authority: Authority, file: string): Promise<void> {
  const existing = await readFile(file, 'utf8').catch(() => '');
  const principal = await authority.context.tokens.authenticate(`Bearer ${existing.trim()}`);
  if (principal?.role === 'sidecar' && principal.service === demoService) return;
  const { token } = await authority.context.tokens.create(actor, { role: 'sidecar', service: demoService, name: 'demo sidecar' });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
}

/** The demo port's active license for `number`, issued (renewed automatically) when there is none. */
export async function ensureDemoLicense(authority: Authority, number: number): Promise<LicenseView> {
  const { licenses } = await authority.context.licenses.all(demoService);
  const current = licenses.find((license) => license.state === 'active' && license.port_name === demoPortName && license.port.number === number);
  if (current) return current;
  return authority.context.licenses.issue(actor, {
    service: demoService,
    portName: demoPortName,
    port: { number, protocol: 'tcp' },
    allow: [demoIdentity],
    renew: 'always',
  });
}

/** Writes the demo sidecar's configuration: every local caller is the demo identity. */
export async function writeDemoSidecarConfig(options: {
  dataDir: string;
  authorityUrl: string;
  listenPort: number;
  adminPort: number;
  upstreamPort: number;
}): Promise<string> {
  const { dataDir } = options;
  const config = {
    service: demoService,
    authority: {
      url: options.authorityUrl,
      token_file: join(dataDir, 'sidecar.token'),
      cache_dir: join(dataDir, 'cache'),
    },
    admin: { listen: `127.0.0.1:${options.adminPort}` },
    identities: [{ cidr: '127.0.0.0/8', identity: demoIdentity }],
    telemetry: { spool_dir: join(dataDir, 'spool'), report_interval: '5s' },
    shutdown_timeout: '5s',
    ports: [{ name: demoPortName, listen: `127.0.0.1:${options.listenPort}`, upstream: `127.0.0.1:${options.upstreamPort}` }],
  };
  const file = join(dataDir, 'sidecar.yaml');
  await writeFile(file, `# written by portwarden up on every start\n${stringify(config)}`);
  return file;
}
