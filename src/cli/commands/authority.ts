import { Registry } from 'prom-client';
import { collectProcessMetrics } from '../../shared/process-metrics.ts';
import type { DestinationStream } from 'pino';
import { Authority } from '../../authority/authority.ts';
import { authoritySchema } from '../../shared/config/authority-schema.ts';
import { loadConfigFile, parseConfigText } from '../../shared/config/load.ts';
import { createLogger } from '../../shared/logger.ts';
import { commonOptions, parseCommandArgs, expectNoArguments } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `Usage: portwarden authority [--config FILE]

Runs the license authority: signs, renews and revokes licenses, serves the JWKS and the
API, and keeps its state in <data_dir>/authority.db, or with storage.url in a PostgreSQL
database that several authorities may share. Without --config it runs on the defaults
(listen 127.0.0.1:7400, data_dir ./data); PORTWARDEN_* variables override keys.

On first start it writes an admin API token to <data_dir>/admin.token (0600), unless
PORTWARDEN_ADMIN_TOKEN is set (authorities sharing PostgreSQL should all set the same one). SIGTERM or SIGINT shuts down gracefully; a second one
exits at once.`;

export const authorityCommand: Command = {
  usage,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx.argv, { ...commonOptions, config: { type: 'string', short: 'c' } });
    if (values.help) {
      ctx.stdout.write(`${usage}\n`);
      return 0;
    }
    expectNoArguments(positionals);
    const config = values.config
      ? await loadConfigFile(values.config, authoritySchema, ctx.env)
      : parseConfigText('', '(defaults)', authoritySchema, ctx.env);
    const logger = createLogger({ level: config.log.level, destination: ctx.stdout as unknown as DestinationStream });
    const registry = new Registry();
    collectProcessMetrics(registry);
    const authority = await Authority.start({ config, logger, registry, env: ctx.env });
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    logger.info({ signal: String(ctx.signal.reason) }, 'shutting down');
    await authority.close();
    return 0;
  },
};
