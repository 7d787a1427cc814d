import { writeFile } from 'node:fs/promises';
import type { PortAccessAnswer } from '../../authority/access/last-access.ts';
import type { PortRecord } from '../../register/port-record.ts';
import type { PortDetail } from '../../authority/register/port-view.ts';
import type { RegisterSnapshotJson } from '../../register/snapshot.ts';
import { isDuration } from '../../shared/duration.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { apiOptions, apiOptionsUsage, outputFormat, parseCommandArgs, expectNoArguments } from '../args.ts';
import { splitSubcommand, withApiClient, type ApiClient } from '../api-client.ts';
import type { Command } from '../command.ts';
import { printJson } from '../output.ts';
import { printCallers } from './access-output.ts';
import { printPort, printPortList, printReclaim } from './ports-output.ts';

const usage = `Usage: portwarden ports <subcommand> [options]

Subcommands:
  request --service S --name N [--env E] [--protocol tcp|udp] [--kind static|ephemeral]
          [--number K] [--owner O] [--depends-on S2/N2]... [--reason TEXT]
          [--license --allow ID... [--ttl 24h] [--renew auto|always|never]]
                      ask for a port; it gets a stable number inside the allowed ranges
                      (or --number, checked). With approval: auto it is active at once,
                      and --license licenses it for the --allow callers in the same step
  list [--service S] [--env E] [--state STATE] [--stale] [--unregistered]
                      the register; --stale: active ports unused for stale_after;
                      --unregistered: listeners the sidecars saw that the register lacks
  show PORT           where it lives, who owns it, its licenses, and its callers (last
                      access per identity and origin address)
  approve PORT | reject PORT | release PORT   [--reason TEXT]
                      decide a request; release a port (its licenses are revoked)
  transition PORT --to K --window 1h
                      move to number K: both numbers are licensed for the window, then
                      the old one is released and its license revoked
  transition PORT --cancel | --complete
                      go back to the old number now, or end the window early
  reclaim [--yes]     release the stale ports (a dry run unless --yes)
  export [--out FILE] the register snapshot that \`portwarden check --register\` reads

PORT is a port id or service/name; with service/name, --env E (default "default") and,
when both protocols are registered, --protocol.

Options:
${apiOptionsUsage}
  --format table|json
  -h, --help
The API token is read from $PORTWARDEN_TOKEN. Exit 0 done, 1 refused or conflict, 2 bad input.`;

const options = {
  ...apiOptions,
  service: { type: 'string' },
  name: { type: 'string' },
  env: { type: 'string' },
  protocol: { type: 'string' },
  kind: { type: 'string' },
  number: { type: 'string' },
  owner: { type: 'string' },
  'depends-on': { type: 'string', multiple: true },
  reason: { type: 'string' },
  license: { type: 'boolean' },
  allow: { type: 'string', multiple: true },
  ttl: { type: 'string' },
  renew: { type: 'string' },
  state: { type: 'string' },
  stale: { type: 'boolean' },
  unregistered: { type: 'boolean' },
  to: { type: 'string' },
  window: { type: 'string' },
  cancel: { type: 'boolean' },
  complete: { type: 'boolean' },
  yes: { type: 'boolean' },
  out: { type: 'string' },
} as const;

type Flag = Exclude<keyof typeof options, keyof typeof apiOptions>;
type Values = ReturnType<typeof parseCommandArgs<typeof options>>['values'];

/** The flags each subcommand takes (beyond --authority, --format, --help). */
const flagsOf: Record<string, readonly Flag[]> = {
  request: ['service', 'name', 'env', 'protocol', 'kind', 'number', 'owner', 'depends-on', 'reason', 'license', 'allow', 'ttl', 'renew'],
  list: ['service', 'env', 'state', 'stale', 'unregistered'],
  show: ['env', 'protocol'],
  approve: ['env', 'protocol', 'reason'],
  reject: ['env', 'protocol', 'reason'],
  release: ['env', 'protocol', 'reason'],
  transition: ['env', 'protocol', 'to', 'window', 'cancel', 'complete'],
  reclaim: ['yes'],
  export: ['out'],
};

export const portsCommand: Command = {
  usage,
  async run(ctx) {
    const { sub, rest } = splitSubcommand(ctx.argv);
    const { values, positionals } = parseCommandArgs(rest, options);
    if (values.help) {
      ctx.stdout.write(`${usage}\n`);
      return 0;
    }
    const allowed = sub === undefined ? undefined : flagsOf[sub];
    if (allowed === undefined) throw new PortwardenError('usage', `${sub === undefined ? 'a subcommand is needed' : `unknown subcommand "${sub}"`}\n\n${usage}`);
    for (const flag of Object.keys(flagsOf).flatMap((name) => flagsOf[name] ?? [])) {
      if (values[flag] !== undefined && !allowed.includes(flag)) throw new PortwardenError('usage', `--${flag} does not go with ports ${sub}`);
    }
    const format = outputFormat(values.format);
    const call = <T>(fn: (client: ApiClient) => Promise<T>) => withApiClient(ctx.env, values, fn);
    switch (sub) {
      case 'request': {
        const body = requestBody(values, positionals);
        printPort(ctx.stdout, await call((client) => client.post<PortDetail>('/v1/ports', body)), format);
        return 0;
      }
      case 'list': {
        expectNoArguments(positionals);
        if (values.unregistered) {
          if (values.stale || values.state || values.env) throw new PortwardenError('usage', '--unregistered goes only with --service');
          const answer = await call((client) => client.get<{ unregistered: object[] }>('/v1/ports', { service: values.service, unregistered: '1' }));
          printPortList(ctx.stdout, answer, format);
          return 0;
        }
        const query = { service: values.service, env: values.env, state: values.state, stale: values.stale ? '1' : undefined };
        printPortList(ctx.stdout, await call((client) => client.get<{ ports: PortRecord[] }>('/v1/ports', query)), format);
        return 0;
      }
      case 'show': {
        // the port, then who used it: its access totals' callers (GET /v1/ports/{id}/access)
        const path = portPath(positionals, values);
        const { detail, access } = await call(async (client) => ({
          detail: await client.get<PortDetail>(path.path, path.query),
          access: await client.get<PortAccessAnswer>(`${path.path}/access`, path.query),
        }));
        if (format === 'json') {
          printJson(ctx.stdout, { ...detail, access: access.callers });
          return 0;
        }
        printPort(ctx.stdout, detail, format);
        ctx.stdout.write('\n');
        printCallers(ctx.stdout, access.callers);
        return 0;
      }
      case 'approve':
      case 'reject':
      case 'release': {
        const path = portPath(positionals, values);
        const body = values.reason === undefined ? {} : { reason: values.reason };
        const detail = await call((client) => client.post<PortDetail>(`${path.path}/${sub}${path.search}`, body));
        printPort(ctx.stdout, detail, format);
        return 0;
      }
      case 'transition': {
        const path = portPath(positionals, values);
        const mode = transitionMode(values);
        const detail = await call((client) =>
          mode === 'start'
            ? client.post<PortDetail>(`${path.path}/transition${path.search}`, { to: portNumber(values.to, '--to'), window: values.window })
            : client.post<PortDetail>(`${path.path}/transition/${mode}${path.search}`),
        );
        printPort(ctx.stdout, detail, format);
        return 0;
      }
      case 'reclaim': {
        expectNoArguments(positionals);
        const answer = await call((client) => client.post<{ dry_run: boolean; stale_after: string; ports: PortRecord[] }>('/v1/ports/reclaim', { dry_run: !values.yes }));
        printReclaim(ctx.stdout, answer, format);
        return 0;
      }
      default: {
        expectNoArguments(positionals);
        const snapshot = await call((client) => client.get<RegisterSnapshotJson>('/v1/ports/export'));
        if (values.out === undefined) {
          printJson(ctx.stdout, snapshot);
          return 0;
        }
        await writeFile(values.out, `${JSON.stringify(snapshot, null, 2)}\n`);
        if (format === 'json') printJson(ctx.stdout, { out: values.out, ports: snapshot.ports.length, exported_at: snapshot.exported_at });
        else ctx.stdout.write(`wrote ${snapshot.ports.length} ports to ${values.out}\n`);
        return 0;
      }
    }
  },
};

function requestBody(values: Values, positionals: string[]): Record<string, unknown> {
  // `--allow a b c`: identities after --allow arrive as positionals
  const allow = [...(values.allow ?? []), ...(values.allow ? positionals : [])].flatMap((entry) => entry.split(',')).filter(Boolean);
  if (positionals.length > 0 && !values.allow) throw new PortwardenError('usage', `unexpected argument "${positionals[0]}"`);
  for (const flag of ['service', 'name'] as const) {
    if (values[flag] === undefined) throw new PortwardenError('usage', `--${flag} is required\n\n${usage}`);
  }
  if (values.license && allow.length === 0) throw new PortwardenError('usage', '--license needs --allow with at least one identity');
  if (!values.license && (allow.length > 0 || values.ttl !== undefined || values.renew !== undefined)) {
    throw new PortwardenError('usage', '--allow, --ttl and --renew go with --license');
  }
  return {
    service: values.service,
    name: values.name,
    ...(values.env === undefined ? {} : { env: values.env }),
    ...(values.protocol === undefined ? {} : { protocol: values.protocol }),
    ...(values.kind === undefined ? {} : { kind: values.kind }),
    ...(values.number === undefined ? {} : { number: portNumber(values.number, '--number') }),
    ...(values.owner === undefined ? {} : { owner: values.owner }),
    ...(values['depends-on'] === undefined ? {} : { depends_on: values['depends-on'].flatMap((entry) => entry.split(',')).filter(Boolean) }),
    ...(values.reason === undefined ? {} : { reason: values.reason }),
    ...(values.license ? { license: { allow, ...(values.ttl === undefined ? {} : { ttl: values.ttl }), ...(values.renew === undefined ? {} : { renew: values.renew }) } } : {}),
  };
}

/** `/v1/ports/<id or service%2Fname>` and its `?env=&protocol=` query. */
function portPath(positionals: string[], values: Values): { path: string; query: Record<string, string | undefined>; search: string } {
  const [ref, ...extra] = positionals;
  if (ref === undefined || extra.length > 0) throw new PortwardenError('usage', `one PORT (an id or service/name) is needed\n\n${usage}`);
  const byName = ref.includes('/');
  if (!byName && (values.env !== undefined || values.protocol !== undefined)) throw new PortwardenError('usage', '--env and --protocol go with a service/name, not an id');
  const query = { env: values.env, protocol: values.protocol };
  const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return { path: `/v1/ports/${encodeURIComponent(ref)}`, query, search: params.size > 0 ? `?${params}` : '' };
}

function transitionMode(values: Values): 'start' | 'cancel' | 'complete' {
  const starting = values.to !== undefined || values.window !== undefined;
  if ([starting, values.cancel === true, values.complete === true].filter(Boolean).length !== 1) {
    throw new PortwardenError('usage', 'transition takes --to K --window D, or --cancel, or --complete');
  }
  if (values.cancel) return 'cancel';
  if (values.complete) return 'complete';
  if (values.to === undefined || values.window === undefined) throw new PortwardenError('usage', 'transition needs both --to and --window');
  if (!isDuration(values.window)) throw new PortwardenError('usage', `--window must be a duration such as 30m or 1h, not "${values.window}"`);
  return 'start';
}

function portNumber(text: string | undefined, flag: string): number {
  const number = Number(text);
  if (!/^\d+$/.test(text ?? '') || number < 1 || number > 65_535) throw new PortwardenError('usage', `${flag} must be a port number 1-65535, not "${text}"`);
  return number;
}
