import type { Command, CommandContext } from '../command.ts';
import { apiOptions, outputFormat, parseCommandArgs } from '../args.ts';
import { openApiClient, type ApiClient } from '../api-client.ts';
import { printJson } from '../output.ts';
import { defaultPolicy } from '../../register/policy.ts';
import { defaultEnv } from '../../register/port-record.ts';
import { readSnapshot, snapshotPolicy, snapshotSchema, type RegisterSnapshot } from '../../register/snapshot.ts';
import { checkFiles, type CheckReport } from '../../check/check.ts';
import { formatProblem, type InputProblem } from '../../register/conflicts/definition.ts';
import { checkRules, formatFinding } from '../../register/conflicts/finding.ts';
import { systemClock } from '../../shared/clock.ts';
import { ConfigError } from '../../shared/config/config-error.ts';
import { PortwardenError } from '../../shared/errors.ts';

const ruleWidth = Math.max(...Object.keys(checkRules).map((rule) => rule.length));

const usage = `Usage: portwarden check FILE... [--register FILE | --offline] [--service S] [--env E] [--format json]

Checks the port numbers in sidecar configurations, Kubernetes manifests and compose files
against the register and against each other, for CI.

  --register FILE  a register snapshot (\`portwarden ports export\`) to check against
  --offline        check against the default policy and the inputs only, without a register
  --authority URL  without --register or --offline, the register is read from the authority
                   (default $PORTWARDEN_AUTHORITY, then http://127.0.0.1:7400; the token is
                   read from $PORTWARDEN_TOKEN, any role)
  --authority-ca FILE, --authority-cert FILE, --authority-key FILE
                   for an https authority: the only CA to trust, and a client certificate
                   with its key when it requires one (default $PORTWARDEN_AUTHORITY_CA,
                   $PORTWARDEN_AUTHORITY_CERT, $PORTWARDEN_AUTHORITY_KEY)
  --service S      the service every input belongs to; by default a Kubernetes object's
                   app.kubernetes.io/name label, else its name; the compose service's name;
                   the sidecar's \`service\`
  --env E          the register environment to check against. Required when the register
                   holds ports outside ${defaultEnv}: without it the check refuses (exit 2)
                   and lists the register's environments; otherwise ${defaultEnv}

Numbers that are the service's address are register numbers: a sidecar's listen port,
containerPort, hostPort, a Service's port, compose published, target and expose ports.
Reserved numbers apply only where a number is bound on a host (listen, hostPort, hostNetwork
containerPorts, compose published ports); targetPort and nodePort are not register numbers,
but a numeric targetPort the register gives to another service is a port_conflict.

Rules:
${Object.entries(checkRules)
  .map(([rule, summary]) => `  ${rule.padEnd(ruleWidth)}  ${summary}`)
  .join('\n')}

Prints \`file:line: rule: message\` for each finding. Exit 0 clean, 1 findings,
2 unreadable input (missing file, YAML error, unknown file shape, bad register file,
an authority that cannot be reached or will not give the register, no --env for a
register with environments).`;

export const checkCommand: Command = {
  usage,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx.argv, {
      ...apiOptions,
      register: { type: 'string' },
      offline: { type: 'boolean' },
      service: { type: 'string' },
      env: { type: 'string' },
    });
    const format = outputFormat(values.format);
    if (values.help) {
      ctx.stdout.write(`${usage}\n`);
      return 0;
    }
    if (positionals.length === 0) throw new PortwardenError('usage', `no input files\n\n${usage}`);
    for (const [flag, value] of [['--service', values.service], ['--env', values.env]] as const) {
      if (value === '') throw new PortwardenError('usage', `${flag} must not be empty`);
    }
    const env = values.env;
    if (values.register !== undefined && (values.offline || values.authority !== undefined)) {
      throw new PortwardenError('usage', '--register reads a snapshot: it does not go with --offline or --authority');
    }
    if (values.offline && values.authority !== undefined) throw new PortwardenError('usage', '--offline does not go with --authority');

    let snapshot: RegisterSnapshot | undefined;
    if (values.register !== undefined) {
      try {
        snapshot = await readSnapshot(values.register);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const errors = err.issues.map((issue) => ({ file: issue.file, line: issue.line, message: issue.key ? `${issue.key}: ${issue.message}` : issue.message }));
        return report(ctx, format, { env: env ?? defaultEnv, register: values.register, findings: [], files: [], notes: [], errors });
      }
    }
    let source = values.register;
    let now = systemClock.now();
    if (values.register === undefined && !values.offline) {
      const client = await openApiClient(values, ctx.env);
      source = client.baseUrl;
      const fetched = await fetchRegister(client);
      if (!fetched.ok) return report(ctx, format, { env: env ?? defaultEnv, register: source, findings: [], files: [], notes: [], errors: [fetched.problem] });
      snapshot = fetched.snapshot;
      // the authority decides cool-downs on its own clock: judge them at its time, not this machine's
      now = Date.parse(snapshot.exported_at);
    }
    const result = await checkFiles(positionals, {
      service: values.service,
      env,
      policy: snapshot ? snapshotPolicy(snapshot) : defaultPolicy(),
      register: snapshot && source !== undefined ? { file: source, ports: snapshot.ports } : undefined,
      now,
    });
    return report(ctx, format, result);
  },
};

/**
 * The register as the authority holds it now (`GET /v1/ports/export`). Any failure is a problem
 * of the input (exit 2): a check that silently fell back to the policy alone would pass
 * collisions the register knows of.
 */
async function fetchRegister(client: ApiClient): Promise<{ ok: true; snapshot: RegisterSnapshot } | { ok: false; problem: InputProblem }> {
  const hint = 'pass --register FILE to check against a snapshot, or --offline to check against the policy defaults only';
  try {
    const parsed = snapshotSchema.safeParse(await client.get<unknown>('/v1/ports/export'));
    if (parsed.success) return { ok: true, snapshot: parsed.data };
    return { ok: false, problem: { file: client.baseUrl, line: 0, message: `the authority's register is not a snapshot this portwarden reads (${parsed.error.issues[0]?.message ?? 'invalid'}); ${hint}` } };
  } catch (err) {
    if (!(err instanceof PortwardenError)) throw err;
    return { ok: false, problem: { file: client.baseUrl, line: 0, message: `cannot read the register from the authority (${err.code}: ${err.message}); ${hint}` } };
  } finally {
    await client.close();
  }
}

/** Prints the report and gives the exit code: 2 unreadable input, 1 findings, 0 clean. */
function report(ctx: Pick<CommandContext, 'stdout' | 'stderr'>, format: 'table' | 'json', result: CheckReport): number {
  const code = result.errors.length > 0 ? 2 : result.findings.length > 0 ? 1 : 0;
  if (format === 'json') {
    printJson(ctx.stdout, result);
    return code;
  }
  for (const note of result.notes) ctx.stderr.write(`${formatProblem(note, 'note: ')}\n`);
  for (const error of result.errors) ctx.stderr.write(`${formatProblem(error)}\n`);
  for (const item of result.findings) ctx.stdout.write(`${formatFinding(item)}\n`);
  if (code !== 2) {
    const ports = result.files.reduce((sum, file) => sum + file.ports.length, 0);
    const found = result.findings.length === 0 ? 'no findings' : plural(result.findings.length, 'finding');
    ctx.stderr.write(`${found} in ${plural(ports, 'port')} from ${plural(result.files.length, 'file')} (env ${result.env}, ${result.register ? `register ${result.register}` : 'no register: policy defaults'})\n`);
  }
  return code;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
