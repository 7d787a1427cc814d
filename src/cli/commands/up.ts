import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { Registry } from 'prom-client';
import { collectProcessMetrics } from '../../shared/process-metrics.ts';
import { request } from 'undici';
import { Authority } from '../../authority/authority.ts';
import { DemoUpstream } from '../../demo/demo-upstream.ts';
import { ensureDemoLicense, ensureDemoSidecarToken, writeDemoSidecarConfig } from '../../demo/demo-setup.ts';
import { authoritySchema } from '../../shared/config/authority-schema.ts';
import { loadConfigFile, parseConfigText } from '../../shared/config/load.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/logger.ts';
import { commonOptions, parseCommandArgs, expectNoArguments } from '../args.ts';
import type { Command } from '../command.ts';
import { sidecarCommand } from './sidecar.ts';

const usage = `Usage: portwarden up [--config AUTHORITY_FILE] [--data DIR] [--port N] [--admin-port N]

All-in-one on loopback, for a first look: the authority (embedded SQLite in DIR, default
./data) with its web console, a sidecar, and a tiny demo HTTP upstream behind it, with a
license that admits local callers. Prints the console's URL and the token file to sign in
with, a curl line through the licensed port, and how to revoke the license and watch the
next curl be refused. SIGINT or SIGTERM stops everything.

  --port N        the licensed port (default 8443)
  --admin-port N  the sidecar's admin listener (default 9901)`;

export const upCommand: Command = {
  usage,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx.argv, {
      ...commonOptions,
      config: { type: 'string', short: 'c' },
      data: { type: 'string' },
      port: { type: 'string' },
      'admin-port': { type: 'string' },
    });
    if (values.help) {
      ctx.stdout.write(`${usage}\n`);
      return 0;
    }
    expectNoArguments(positionals);
    const listenPort = portOption(values.port ?? '8443', '--port');
    const adminPort = portOption(values['admin-port'] ?? '9901', '--admin-port');
    // the authority stays quiet unless asked; the sidecar's access log is the interesting part
    const env = { PORTWARDEN_LOG_LEVEL: 'warn', ...ctx.env, ...(values.data ? { PORTWARDEN_DATA_DIR: values.data } : {}) };
    const config = values.config ? await loadConfigFile(values.config, authoritySchema, env) : parseConfigText('', '(defaults)', authoritySchema, env);
    const dataDir = config.data_dir;
    await mkdir(dataDir, { recursive: true, mode: 0o700 });

    const logger = createLogger({ level: config.log.level, destination: ctx.stdout as unknown as DestinationStream });
    const registry = new Registry();
    collectProcessMetrics(registry);
    const authority = await Authority.start({ config, logger, registry, env: ctx.env });
    let upstream: DemoUpstream | undefined;
    try {
      await ensureDemoSidecarToken(authority, join(dataDir, 'sidecar.token'));
      const license = await ensureDemoLicense(authority, listenPort);
      upstream = await DemoUpstream.start();
      const sidecarConfig = await writeDemoSidecarConfig({ dataDir, authorityUrl: authority.url, listenPort, adminPort, upstreamPort: upstream.port });
      const sidecar = sidecarCommand.run({ ...ctx, argv: ['--config', sidecarConfig] });
      const ready = await waitReady(`http://127.0.0.1:${adminPort}/readyz`, sidecar);
      if (ready) ctx.stdout.write(banner({ authorityUrl: authority.url, adminPort, listenPort, lid: license.lid, tokenFile: authority.adminTokenFile }));
      return await sidecar;
    } finally {
      await upstream?.close();
      await authority.close();
    }
  },
};

function portOption(text: string, name: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new PortwardenError('usage', `${name} must be a port number, not "${text}"`);
  return port;
}

/** Polls /readyz until the sidecar holds its license; false if the sidecar stopped first. */
async function waitReady(url: string, sidecar: Promise<number>): Promise<boolean> {
  let stopped = false;
  void sidecar.finally(() => (stopped = true));
  const deadline = Date.now() + 30_000;
  while (!stopped && Date.now() < deadline) {
    try {
      const { statusCode, body } = await request(url);
      await body.dump();
      if (statusCode === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !stopped;
}

function banner(o: { authorityUrl: string; adminPort: number; listenPort: number; lid: string; tokenFile: string | undefined }): string {
  const token = o.tokenFile ? `PORTWARDEN_TOKEN=$(cat ${o.tokenFile}) ` : '';
  const signIn = o.tokenFile ? `sign in with the token in ${o.tokenFile}` : 'sign in with $PORTWARDEN_ADMIN_TOKEN';
  return `
portwarden is up, all on loopback
  console        ${o.authorityUrl}/ui/   (${signIn})
  authority      ${o.authorityUrl}
  sidecar admin  http://127.0.0.1:${o.adminPort}/status   (also /metrics /readyz)
  licensed port  127.0.0.1:${o.listenPort} -> demo upstream, license ${o.lid}

Try it:
  curl -s http://127.0.0.1:${o.listenPort}/
Revoke the license (here, or on the console's Licenses page), and the next curl is refused
(reason "revoked" in /metrics):
  ${token}npx portwarden licenses revoke ${o.lid}
  curl -s http://127.0.0.1:${o.listenPort}/ || echo refused
Ctrl-C stops everything; the next start issues a fresh license.

`;
}
