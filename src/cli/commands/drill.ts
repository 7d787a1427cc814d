import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DrillReport, DrillView } from '../../authority/drills/view.ts';
import { formatDuration, isDuration, parseDuration } from '../../shared/duration.ts';
import { isPortwardenError, PortwardenError } from '../../shared/errors.ts';
import { apiOptions, apiOptionsUsage, outputFormat, parseCommandArgs, expectNoArguments } from '../args.ts';
import { splitSubcommand, withApiClient, type ApiClient } from '../api-client.ts';
import type { Command, CommandContext } from '../command.ts';
import { printJson, printTable } from '../output.ts';

const usage = `Usage: portwarden drill <kind> --service S [--port NAME] --for 5m [--no-wait]
       portwarden drill status|stop ID
       portwarden drill list [--service S] [--active]

Rehearses a license failure on a (staging) authority for a window, then puts everything
back. If a failover plan assumes an always-valid license, it is broken: find out here.

Kinds:
  revoke --service S --port NAME
        revokes the port's active licenses; at the end each gets a replacement (a new lid,
        revocation being final) with the same number, allow list, env, renew policy and TTL
  expire --service S --port NAME
        re-signs the port's licenses to lapse within 5s, unrenewed: sidecars decide "expired";
        at the end the same lids are renewed for a full TTL (--for must exceed 5s)
  outage --service S
        the authority answers the service's license sync with 503, so its sidecars run on
        last-known-good licenses and expiry_grace; the JWKS stays served

The drill lives in the authority, which restores it when the window ends even if this
command goes away or the authority restarts. By default the command waits for the window
(progress on stderr; Ctrl-C ends the drill early and restores), then prints what changed
and what the sidecars' telemetry showed as refused meanwhile.

Subcommands:
  status ID           the drill, what it changed, and the telemetry of its window
  stop ID             end it now and restore
  list [--service S] [--active]

Options:
  --for DURATION      the window: 30s, 5m, 1h (1s to 24h)
  --no-wait           start it, print its id, and return
${apiOptionsUsage}
  --format table|json
  -h, --help
The admin token is read from $PORTWARDEN_TOKEN. Exit 0 done, 1 refused, 2 bad input.`;

const kinds = ['revoke', 'expire', 'outage'] as const;
type Kind = (typeof kinds)[number];

/** How often a waiting command asks the authority whether the drill was restored. */
const pollMs = 500;

export const drillCommand: Command = {
  usage,
  async run(ctx) {
    const { sub, rest } = splitSubcommand(ctx.argv);
    if (sub === undefined) {
      const { values } = parseCommandArgs(rest, apiOptions);
      if (values.help) return help(ctx);
      throw new PortwardenError('usage', `a drill kind or subcommand is needed\n\n${usage}`);
    }
    if ((kinds as readonly string[]).includes(sub)) return start(ctx, sub as Kind, rest);
    switch (sub) {
      case 'status':
      case 'stop':
        return one(ctx, sub, rest);
      case 'list':
        return list(ctx, rest);
      default:
        throw new PortwardenError('usage', `unknown drill kind or subcommand "${sub}"\n\n${usage}`);
    }
  },
};

function help(ctx: CommandContext): number {
  ctx.stdout.write(`${usage}\n`);
  return 0;
}

async function start(ctx: CommandContext, kind: Kind, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...apiOptions,
    service: { type: 'string' },
    port: { type: 'string' },
    for: { type: 'string' },
    'no-wait': { type: 'boolean' },
  });
  if (values.help) return help(ctx);
  const format = outputFormat(values.format);
  expectNoArguments(positionals);
  if (values.service === undefined) throw new PortwardenError('usage', `--service is required\n\n${usage}`);
  if (values.port === undefined && kind !== 'outage') throw new PortwardenError('usage', `--port is required for a ${kind} drill`);
  if (values.for === undefined) throw new PortwardenError('usage', '--for is required (the window: 30s, 5m, 1h)');
  if (!isDuration(values.for) || parseDuration(values.for) <= 0) throw new PortwardenError('usage', `--for must be a duration such as 30s, 5m or 1h, not "${values.for}"`);
  const body = { kind, service: values.service, ...(values.port === undefined ? {} : { port: values.port }), for: values.for };

  return withApiClient(ctx.env, values, async (client) => {
    const started = await client.post<DrillView>('/v1/drills', body);
    ctx.stderr.write(`${startedLine(started)}\n`);
    if (values['no-wait']) {
      if (format === 'json') printJson(ctx.stdout, started);
      else ctx.stdout.write(`${started.id}\n`);
      return 0;
    }
    const restored = await waitForRestore(ctx, client, started);
    if (format === 'json') printJson(ctx.stdout, restored);
    else printDrill(ctx.stdout, restored);
    return 0;
  });
}

/**
 * Polls the drill until the authority restored it, with a progress line on stderr every
 * tenth of the window (1s to 30s apart). The first SIGINT/SIGTERM stops the drill at once.
 */
async function waitForRestore(ctx: CommandContext, client: ApiClient, started: DrillView): Promise<DrillView> {
  const tickMs = Math.min(30_000, Math.max(1_000, Math.floor((Date.parse(started.ends_at) - Date.parse(started.starts_at)) / 10)));
  let nextTick = started.remaining_ms - tickMs;
  let drill = started;
  for (;;) {
    if (ctx.signal.aborted) {
      ctx.stderr.write(`drill ${started.id}: interrupted; stopping it and restoring now\n`);
      try {
        return await client.post<DrillView>(`/v1/drills/${encodeURIComponent(started.id)}/stop`);
      } catch (err) {
        // restored meanwhile by the authority: show that
        if (!isPortwardenError(err, 'conflict')) throw err;
        return client.get<DrillView>(`/v1/drills/${encodeURIComponent(started.id)}`);
      }
    }
    await sleep(pollMs, undefined, { signal: ctx.signal }).catch(() => undefined);
    if (ctx.signal.aborted) continue;
    drill = await client.get<DrillView>(`/v1/drills/${encodeURIComponent(started.id)}`);
    if (drill.state !== 'active') {
      ctx.stderr.write(`drill ${drill.id}: restored${drill.restored_by === 'system' ? ' (window over)' : ` (stopped by ${drill.restored_by})`}\n`);
      return drill;
    }
    if (drill.remaining_ms <= nextTick) {
      ctx.stderr.write(`drill ${drill.id}: ${drill.remaining_ms > 0 ? `${roundDuration(drill.remaining_ms)} left` : 'window over, restoring'}${progressNote(drill.telemetry)}\n`);
      nextTick = drill.remaining_ms - tickMs;
    }
  }
}

async function one(ctx: CommandContext, sub: 'status' | 'stop', argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, apiOptions);
  if (values.help) return help(ctx);
  const format = outputFormat(values.format);
  const [id, ...extra] = positionals;
  if (id === undefined || extra.length > 0) throw new PortwardenError('usage', `drill ${sub} takes one drill ID\n\n${usage}`);
  const path = `/v1/drills/${encodeURIComponent(id)}`;
  const drill = await withApiClient(ctx.env, values, (client) =>
    sub === 'status' ? client.get<DrillView>(path) : client.post<DrillView>(`${path}/stop`),
  );
  if (format === 'json') printJson(ctx.stdout, drill);
  else printDrill(ctx.stdout, drill);
  return 0;
}

async function list(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { ...apiOptions, service: { type: 'string' }, active: { type: 'boolean' } });
  if (values.help) return help(ctx);
  const format = outputFormat(values.format);
  expectNoArguments(positionals);
  const answer = await withApiClient(ctx.env, values, (client) =>
    client.get<{ drills: DrillView[] }>('/v1/drills', { service: values.service, state: values.active ? 'active' : undefined }),
  );
  if (format === 'json') printJson(ctx.stdout, answer);
  else if (answer.drills.length === 0) ctx.stdout.write('no drills\n');
  else printTable(ctx.stdout, answer.drills.map((d) => ({ ...d, target: target(d) })), { id: 'ID', kind: 'KIND', target: 'TARGET', state: 'STATE', starts_at: 'STARTS', ends_at: 'ENDS', restored_by: 'RESTORED BY' });
  return 0;
}

function target(drill: DrillView): string {
  return drill.port === null ? drill.service : `${drill.service}/${drill.port}`;
}

function startedLine(drill: DrillView): string {
  const { changes } = drill;
  const what =
    drill.kind === 'revoke'
      ? `revoked ${changes.revoked.join(', ')}`
      : drill.kind === 'expire'
        ? changes.shortened.map((s) => `${s.lid} now expires at ${s.expires_at}`).join(', ')
        : `refusing ${changes.refused ?? 'the service\'s license sync'}`;
  return `drill ${drill.id} started: ${drill.kind} ${target(drill)} until ${drill.ends_at}; ${what}`;
}

function progressNote(report: DrillReport | undefined): string {
  if (report === undefined) return '';
  const refused = Object.entries(report.refused_by_reason).map(([reason, n]) => `${reason} ${n}`);
  return `; ${report.connections} connections${refused.length > 0 ? `, callers refused: ${refused.join(', ')}` : ''}`;
}

function roundDuration(ms: number): string {
  return formatDuration(Math.ceil(ms / 1000) * 1000);
}

/** The drill: what it changed, how it was put back, and what telemetry showed of the window. */
function printDrill(out: Writable, drill: DrillView): void {
  const { changes } = drill;
  const lines = [
    `drill ${drill.id}: ${drill.kind} ${target(drill)}, ${drill.state}`,
    `  window     ${drill.starts_at} .. ${drill.ends_at}${drill.state === 'active' ? ` (${roundDuration(drill.remaining_ms)} left)` : ''}`,
    `  started by ${drill.actor}`,
  ];
  if (drill.restored_at !== null) lines.push(`  restored   ${drill.restored_at} by ${drill.restored_by === 'system' ? 'system (window over)' : drill.restored_by}`);
  for (const lid of changes.revoked) lines.push(`  revoked    ${lid}`);
  for (const s of changes.shortened) lines.push(`  shortened  ${s.lid}: expires ${s.expires_at} (was ${s.expires_at_before}, renew ${s.renew_before} -> never)`);
  if (changes.refused !== null) lines.push(`  refused    ${changes.refused} (503 unavailable)`);
  for (const r of changes.restored) lines.push(`  restored   ${r.from}${r.lid === r.from ? '' : ` -> ${r.lid}`} (${r.how}, expires ${r.expires_at})`);
  for (const s of changes.skipped) lines.push(`  left alone ${s.lid}: ${s.why}`);
  out.write(`${lines.join('\n')}\n`);
  const report = drill.telemetry;
  if (report === undefined) return;
  const refused = Object.entries(report.refused_by_reason);
  out.write(
    `\ntelemetry as of ${report.as_of}: ${report.connections} connections since the start; ` +
      `callers refused${refused.length > 0 ? `: ${refused.map(([reason, n]) => `${reason} ${n}`).join(', ')}` : ': none'}; ` +
      `callers admitted: ${report.admitted_callers}\n`,
  );
  if (report.callers.length > 0) {
    printTable(
      out,
      report.callers.map((c) => ({ ...c, identity: c.identity ?? '(none)' })),
      { port: 'PORT', identity: 'IDENTITY', origin: 'ORIGIN', decision: 'LAST DECISION', reason: 'REASON', last_access: 'LAST ACCESS' },
    );
  }
  if (report.callers_left_out > 0) out.write(`(${report.callers_left_out} more callers not listed)\n`);
}
