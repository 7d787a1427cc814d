import type { TokenView } from '../../authority/tokens/service.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { apiOptions, apiOptionsUsage, outputFormat, parseCommandArgs, expectNoArguments } from '../args.ts';
import { splitSubcommand, withApiClient } from '../api-client.ts';
import type { Command } from '../command.ts';
import { printJson, printTable } from '../output.ts';

const usage = `Usage: portwarden tokens <subcommand> [options]

Subcommands:
  create --role admin|viewer|sidecar [--service S] [--name TEXT]
                      make an API token; prints the bare token (shown only once)
  list                every token (never the secret)
  revoke ID           the token stops working at once

An admin token does everything; a viewer token reads everything an admin reads (the web
console, dashboards) and changes nothing; a sidecar token is scoped to one service: it reads
only that service's licenses and reports only its telemetry. Tokens are stored hashed.

Options:
${apiOptionsUsage}
  --format table|json (create: json prints the token with its id)
  -h, --help
The admin token is read from $PORTWARDEN_TOKEN. Exit 0 done, 1 refused, 2 bad input.`;

export const tokensCommand: Command = {
  usage,
  async run(ctx) {
    const { sub, rest } = splitSubcommand(ctx.argv);
    const { values, positionals } = parseCommandArgs(rest, {
      ...apiOptions,
      role: { type: 'string' },
      service: { type: 'string' },
      name: { type: 'string' },
    });
    if (values.help) {
      ctx.stdout.write(`${usage}\n`);
      return 0;
    }
    const format = outputFormat(values.format);
    const only = (allowed: string[]) => {
      for (const flag of ['role', 'service', 'name'] as const) {
        if (values[flag] !== undefined && !allowed.includes(flag)) throw new PortwardenError('usage', `--${flag} does not go with tokens ${sub}`);
      }
    };
    switch (sub) {
      case 'create': {
        only(['role', 'service', 'name']);
        expectNoArguments(positionals);
        if (values.role !== 'admin' && values.role !== 'viewer' && values.role !== 'sidecar') throw new PortwardenError('usage', '--role must be admin, viewer or sidecar');
        if (values.role === 'sidecar' && values.service === undefined) throw new PortwardenError('usage', 'a sidecar token needs --service');
        const body = { role: values.role, service: values.service, name: values.name };
        const created = await withApiClient(ctx.env, values, (client) => client.post<TokenView & { token: string }>('/v1/tokens', body));
        if (format === 'json') printJson(ctx.stdout, created);
        else ctx.stdout.write(`${created.token}\n`);
        return 0;
      }
      case 'list': {
        only([]);
        expectNoArguments(positionals);
        const { tokens } = await withApiClient(ctx.env, values, (client) => client.get<{ tokens: TokenView[] }>('/v1/tokens'));
        if (format === 'json') printJson(ctx.stdout, { tokens });
        else if (tokens.length === 0) ctx.stdout.write('no tokens\n');
        else printTable(ctx.stdout, tokens, { id: 'ID', role: 'ROLE', service: 'SERVICE', name: 'NAME', created_at: 'CREATED', revoked_at: 'REVOKED' });
        return 0;
      }
      case 'revoke': {
        only([]);
        const [id, ...extra] = positionals;
        if (id === undefined || extra.length > 0) throw new PortwardenError('usage', `tokens revoke takes one ID\n\n${usage}`);
        const view = await withApiClient(ctx.env, values, (client) => client.post<TokenView>(`/v1/tokens/${encodeURIComponent(id)}/revoke`));
        if (format === 'json') printJson(ctx.stdout, view);
        else ctx.stdout.write(`token ${view.id} revoked\n`);
        return 0;
      }
      default:
        throw new PortwardenError('usage', `${sub === undefined ? 'a subcommand is needed' : `unknown subcommand "${sub}"`}\n\n${usage}`);
    }
  },
};
