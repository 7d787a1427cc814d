import type { DestinationStream } from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '../../shared/clock.ts';
import { loadConfigFile } from '../../shared/config/load.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { createLogger, type Logger } from '../../shared/logger.ts';
import { AuthorityTransport } from '../../sidecar/authority/transport.ts';
import { safeSidecarSchema } from '../../sidecar/reload/safety.ts';
import { ConfigWatcher } from '../../sidecar/reload/watcher.ts';
import { LicenseSync, syncPortsFromConfig } from '../../sidecar/licenses/sync.ts';
import { InventoryReporter } from '../../sidecar/inventory/reporter.ts';
import { sidecarOwnPorts } from '../../sidecar/inventory/own-ports.ts';
import { createSidecarMetrics } from '../../sidecar/admin/metrics.ts';
import { Sidecar } from '../../sidecar/sidecar.ts';
import { AccessTelemetry } from '../../sidecar/telemetry/telemetry.ts';
import { commonOptions, parseCommandArgs, expectNoArguments } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `Usage: portwarden sidecar --config FILE

Runs the license-enforcing proxy: one listener per configured port, admitting only callers
whose identity the port's license allows, and the admin endpoint (GET /metrics /livez
/healthz /readyz /status on admin.listen). Licenses come from the authority and are cached
in authority.cache_dir, so a restart during an outage still works.

A bad file is refused with every \`file:line: key: message\` (exit 2); nothing starts
half-way. SIGHUP, or saving the file, reloads it; a bad new file is refused and the running
configuration stays. SIGTERM or SIGINT drains open connections for shutdown_timeout, then
cuts the rest (exit 1 when it had to); a second signal exits at once.`;

export const sidecarCommand: Command = {
  summary: 'run the license-enforcing proxy',
  usage,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx.argv, { ...commonOptions, config: { type: 'string', short: 'c' } });
    if (values.help) {
      ctx.stdout.write(`${usage}\n`);
      return 0;
    }
    expectNoArguments(positionals);
    const file = values.config;
    if (file === undefined) throw new PortwardenError('usage', `--config is required\n\n${usage}`);

    const config = await loadConfigFile(file, safeSidecarSchema, ctx.env);
    // one access line per connection: on the process's own stdout, lines are batched into few
    // asynchronous writes instead of one each
    const destination = ctx.stdout === process.stdout ? undefined : (ctx.stdout as unknown as DestinationStream);
    const logger = createLogger({ level: config.log.level, destination, batch: true });
    const metrics = createSidecarMetrics(new Registry());
    const clock = systemClock;
    // one pool for everything sent to the authority (sync, JWKS, telemetry, inventory), with
    // authority.ca and the client certificate; bad files refuse the start (exit 2), naming the
    // key. Replaced files are re-read (on change and SIGHUP) and apply to new requests.
    let transport: AuthorityTransport;
    try {
      transport = await AuthorityTransport.open(config.authority, { logger, metrics });
    } catch (err) {
      await flush(logger);
      throw err;
    }
    const sync = new LicenseSync({ service: config.service, authority: config.authority, ports: syncPortsFromConfig(config.ports), clock, logger, metrics, transport });
    const telemetry = new AccessTelemetry({ config, metrics, logger, clock, transport });
    const sidecar = new Sidecar({ config, logger, metrics, clock, licenseSource: sync, onAccess: telemetry.onAccess });
    try {
      await sync.start();
      await telemetry.start();
      await sidecar.start();
    } catch (err) {
      await sidecar.close({ deadlineMs: 0 });
      await Promise.allSettled([telemetry.close(), sync.close()]);
      await transport.close();
      await flush(logger);
      throw err;
    }

    // every inventory.interval: this namespace's listening sockets to the authority; own ports read each round (reloads, port 0)
    const inventory = new InventoryReporter({ config, metrics, logger, clock, transport, ownPorts: () => sidecarOwnPorts(sidecar) });
    inventory.start();

    const reload = async () => {
      try {
        await sidecar.reloadFile(file, ctx.env);
      } finally {
        // SIGHUP re-reads authority.ca/cert/key as well, even when the file is refused
        await transport.reload();
      }
    };
    const watcher = new ConfigWatcher({ file, logger, onChange: reload });
    await watcher.start();
    const onHangup = () => {
      logger.info({ file }, 'SIGHUP: reloading the configuration');
      void watcher.reloadNow();
    };
    process.on('SIGHUP', onHangup);
    logger.info({ service: config.service, ports: Object.fromEntries(sidecar.addresses), admin: sidecar.adminAddress }, 'sidecar started');

    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    const deadlineMs = sidecar.config.shutdown_timeout;
    logger.info({ signal: String(ctx.signal.reason), deadlineMs }, 'shutting down');
    process.off('SIGHUP', onHangup);
    await watcher.close();
    await inventory.close();
    const deadlineFired = await sidecar.close({ deadlineMs });
    // the last connections' records are in the final telemetry batch
    await telemetry.close();
    await sync.close();
    await transport.close();
    await flush(logger);
    return deadlineFired ? 1 : 0;
  },
};

function flush(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
