import type { DestinationStream } from 'pino';
import { loadConfigFile } from '../../shared/config/load.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/logger.ts';
import { safeSidecarSchema } from '../../sidecar/reload/safety.ts';
import { SidecarRuntime } from '../../sidecar/runtime.ts';
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
    let runtime: SidecarRuntime;
    try {
      runtime = await SidecarRuntime.start({ config, file, env: ctx.env, logger });
    } catch (err) {
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      throw err;
    }
    const onHangup = () => {
      logger.info({ file }, 'SIGHUP: reloading the configuration');
      void runtime.reload();
    };
    process.on('SIGHUP', onHangup);
    const { sidecar } = runtime;
    logger.info({ service: config.service, ports: Object.fromEntries(sidecar.addresses), admin: sidecar.adminAddress }, 'sidecar started');

    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    const deadlineMs = sidecar.config.shutdown_timeout;
    logger.info({ signal: String(ctx.signal.reason), deadlineMs }, 'shutting down');
    process.off('SIGHUP', onHangup);
    const deadlineFired = await runtime.close({ deadlineMs });
    return deadlineFired ? 1 : 0;
  },
};

