import type { AuditView } from '../../authority/audit/log.ts';
import { apiOptions, apiOptionsUsage, outputFormat, parseCommandArgs, expectNoArguments } from '../args.ts';
import { withApiClient } from '../api-client.ts';
import type { Command } from '../command.ts';
import { printJson, printTable } from '../output.ts';
import { runAuditVerify } from './audit-verify.ts';

const usage = `Usage: portwarden audit [--since 1h|ISO] [--actor ID] [--target T] [--action A] [--limit N]
       portwarden audit verify [--anchor ID:HASH]

Every change the authority made, oldest first: who (token id, or "system" for the
renewer and scheduled rotation), what, to which target, when. --target matches exactly,
or as a prefix when it ends in * (e.g. "license/*"). --format json includes the before
and after state of each change.

Options:
${apiOptionsUsage}
  --format table|json
  -h, --help
The admin token is read from $PORTWARDEN_TOKEN. Exit 0 done, 1 refused, 2 bad input.

\`audit verify\` walks the log's hash chain and names the first row that does not match
(exit 1); \`portwarden audit verify --help\` says more.`;

export const auditCommand: Command = {
  usage,
  async run(ctx) {
    if (ctx.argv[0] === 'verify') return runAuditVerify(ctx, ctx.argv.slice(1));
    const { values, positionals } = parseCommandArgs(ctx.argv, {
      ...apiOptions,
      since: { type: 'string' },
      actor: { type: 'string' },
      target: { type: 'string' },
      action: { type: 'string' },
      limit: { type: 'string' },
    });
    if (values.help) {
      ctx.stdout.write(`${usage}\n`);
      return 0;
    }
    const format = outputFormat(values.format);
    expectNoArguments(positionals);
    const { entries } = await withApiClient(ctx.env, values, (client) =>
      client.get<{ entries: AuditView[] }>('/v1/audit', {
        since: values.since,
        actor: values.actor,
        target: values.target,
        action: values.action,
        limit: values.limit,
      }),
    );
    if (format === 'json') printJson(ctx.stdout, { entries });
    else if (entries.length === 0) ctx.stdout.write('no entries\n');
    else printTable(ctx.stdout, entries, { at: 'AT', actor: 'ACTOR', action: 'ACTION', target: 'TARGET' });
    return 0;
  },
};
