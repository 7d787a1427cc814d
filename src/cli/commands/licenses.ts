import type { Writable } from 'node:stream';
import type { LicenseSnapshot } from '../../authority/licenses/service.ts';
import type { LicenseView } from '../../authority/licenses/view.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { apiOptions, apiOptionsUsage, outputFormat, parseCommandArgs, expectNoArguments } from '../args.ts';
import { splitSubcommand, withApiClient, type ApiClient } from '../api-client.ts';
import type { Command, CommandContext } from '../command.ts';
import { printJson, printTable } from '../output.ts';
import { printCallers } from './access-output.ts';

const usage = `Usage: portwarden licenses <subcommand> [options]

Subcommands:
  issue --service S --port NAME --number N --allow ID [ID...] [--ttl 24h] [--env E]
        [--renew auto|always|never] [--protocol tcp|udp]
                      issue a license; prints it with its lid (and the token)
  list [--service S] [--all]
                      current licenses (--all: revoked and expired too)
  show LID            one license, with its callers (last access per identity and
                      origin address) and its token
  renew LID           a new token for the license (same lid), valid for another TTL
  revoke LID [--reason TEXT]
                      revoke at once; watching sidecars drop it within milliseconds

--allow takes exact identities or SPIFFE prefixes ending in /*; repeat it, separate
with commas, or list several after it. Issuing for a service and port that already hold
a license adds a second license (a new lid); revoke the old one when done.

Options:
${apiOptionsUsage}
  --format table|json
  -h, --help
The API token is read from $PORTWARDEN_TOKEN. Exit 0 done, 1 refused, 2 bad input.`;

const issueOptions = {
  ...apiOptions,
  service: { type: 'string' },
  port: { type: 'string' },
  number: { type: 'string' },
  protocol: { type: 'string' },
  allow: { type: 'string', multiple: true },
  ttl: { type: 'string' },
  env: { type: 'string' },
  renew: { type: 'string' },
} as const;

export const licensesCommand: Command = {
  usage,
  async run(ctx) {
    const { sub, rest } = splitSubcommand(ctx.argv);
    if (sub === undefined) {
      const { values } = parseCommandArgs(rest, apiOptions);
      if (values.help) return help(ctx);
      throw new PortwardenError('usage', `a subcommand is needed\n\n${usage}`);
    }
    switch (sub) {
      case 'issue':
        return issue(ctx, rest);
      case 'list':
        return list(ctx, rest);
      case 'show':
      case 'renew':
      case 'revoke':
        return one(ctx, sub, rest);
      default:
        throw new PortwardenError('usage', `unknown subcommand "${sub}"\n\n${usage}`);
    }
  },
};

function help(ctx: CommandContext): number {
  ctx.stdout.write(`${usage}\n`);
  return 0;
}

async function issue(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, issueOptions);
  if (values.help) return help(ctx);
  const format = outputFormat(values.format);
  // `--allow a b c`: identities after --allow arrive as positionals
  const allow = [...(values.allow ?? []), ...(values.allow ? positionals : [])].flatMap((entry) => entry.split(',')).filter(Boolean);
  if (positionals.length > 0 && !values.allow) throw new PortwardenError('usage', `unexpected argument "${positionals[0]}"`);
  for (const flag of ['service', 'port', 'number'] as const) {
    if (values[flag] === undefined) throw new PortwardenError('usage', `--${flag} is required\n\n${usage}`);
  }
  if (allow.length === 0) throw new PortwardenError('usage', '--allow needs at least one identity');
  const number = Number(values.number);
  if (!/^\d+$/.test(values.number ?? '') || number < 1 || number > 65_535) throw new PortwardenError('usage', `--number must be a port number 1-65535, not "${values.number}"`);
  const body = {
    service: values.service,
    port_name: values.port,
    port: { number, protocol: values.protocol ?? 'tcp' },
    allow,
    ...(values.ttl === undefined ? {} : { ttl: values.ttl }),
    ...(values.env === undefined ? {} : { env: values.env }),
    ...(values.renew === undefined ? {} : { renew: values.renew }),
  };
  const view = await withApiClient(ctx.env, values, (client) => client.post<LicenseView>('/v1/licenses', body));
  printLicense(ctx.stdout, view, format);
  return 0;
}

async function list(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { ...apiOptions, service: { type: 'string' }, all: { type: 'boolean' } });
  if (values.help) return help(ctx);
  const format = outputFormat(values.format);
  expectNoArguments(positionals);
  const answer = await withApiClient(ctx.env, values, (client) =>
    client.get<Partial<LicenseSnapshot> & { index: number; licenses: LicenseView[] }>('/v1/licenses', {
      service: values.service,
      state: values.all ? 'all' : undefined,
    }),
  );
  if (format === 'json') {
    printJson(ctx.stdout, answer);
    return 0;
  }
  if (answer.licenses.length === 0) ctx.stdout.write('no licenses\n');
  else printTable(ctx.stdout, answer.licenses.map(row), columns);
  return 0;
}

async function one(ctx: CommandContext, sub: 'show' | 'renew' | 'revoke', argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { ...apiOptions, reason: { type: 'string' } });
  if (values.help) return help(ctx);
  const format = outputFormat(values.format);
  const [lid, ...extra] = positionals;
  if (lid === undefined || extra.length > 0) throw new PortwardenError('usage', `licenses ${sub} takes one LID\n\n${usage}`);
  if (values.reason !== undefined && sub !== 'revoke') throw new PortwardenError('usage', '--reason goes with revoke');
  const path = `/v1/licenses/${encodeURIComponent(lid)}`;
  const view = await withApiClient(ctx.env, values, (client: ApiClient) =>
    sub === 'show'
      ? client.get<LicenseView>(path)
      : client.post<LicenseView>(`${path}/${sub}`, sub === 'revoke' && values.reason !== undefined ? { reason: values.reason } : {}),
  );
  printLicense(ctx.stdout, view, format);
  return 0;
}

const columns = { lid: 'LID', sub: 'SUB', port: 'PORT', env: 'ENV', renew: 'RENEW', state: 'STATE', expires_at: 'EXPIRES' } as const;

function row(view: LicenseView) {
  return { ...view, port: `${view.port.number}/${view.port.protocol}` };
}

/** One license: every field as a two-column table, then the token (issue, show, renew, revoke). */
function printLicense(out: Writable, view: LicenseView, format: 'table' | 'json'): void {
  if (format === 'json') {
    printJson(out, view);
    return;
  }
  const { token, access, ...fields } = row(view);
  const lines = Object.entries(fields).map(([field, value]) => ({ field, value }));
  printTable(out, lines, { field: 'FIELD', value: 'VALUE' });
  // show only: who used the port, last access per (identity, origin address)
  if (access !== undefined) {
    out.write('\n');
    printCallers(out, access);
  }
  if (token !== undefined && view.state === 'active') out.write(`\n${token}\n`);
}
