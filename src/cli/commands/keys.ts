import type { KeyView } from '../../authority/keys/rotation.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { apiOptions, apiOptionsUsage, outputFormat, parseCommandArgs, expectNoArguments } from '../args.ts';
import { splitSubcommand, withApiClient } from '../api-client.ts';
import type { Command } from '../command.ts';
import { printJson, printTable } from '../output.ts';

const usage = `Usage: portwarden keys <subcommand> [options]

Subcommands:
  list                signing keys: the active one, and retired ones still published
  rotate              make a new signing key now; the old one stays in the JWKS until the
                      last token it signed expires

Options:
${apiOptionsUsage}
  --format table|json
  -h, --help
The admin token is read from $PORTWARDEN_TOKEN. Exit 0 done, 1 refused, 2 bad input.`;

const columns = { kid: 'KID', state: 'STATE', published: 'PUBLISHED', created_at: 'CREATED', retired_at: 'RETIRED', last_token_expires_at: 'LAST TOKEN EXPIRES' } as const;

export const keysCommand: Command = {
  usage,
  async run(ctx) {
    const { sub, rest } = splitSubcommand(ctx.argv);
    const { values, positionals } = parseCommandArgs(rest, apiOptions);
    if (values.help) {
      ctx.stdout.write(`${usage}\n`);
      return 0;
    }
    const format = outputFormat(values.format);
    expectNoArguments(positionals);
    switch (sub) {
      case 'list': {
        const answer = await withApiClient(ctx.env, values, (client) => client.get<{ keys: KeyView[] }>('/v1/keys'));
        if (format === 'json') printJson(ctx.stdout, answer);
        else printTable(ctx.stdout, answer.keys, columns);
        return 0;
      }
      case 'rotate': {
        const key = await withApiClient(ctx.env, values, (client) => client.post<KeyView>('/v1/keys/rotate'));
        if (format === 'json') printJson(ctx.stdout, key);
        else ctx.stdout.write(`signing with key ${key.kid}\n`);
        return 0;
      }
      default:
        throw new PortwardenError('usage', `${sub === undefined ? 'a subcommand is needed' : `unknown subcommand "${sub}"`}\n\n${usage}`);
    }
  },
};
