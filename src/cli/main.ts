import type { Command, CommandContext } from './command.ts';
import { errorCodes, PortwardenError } from '../shared/errors.ts';
import { ConfigError, formatIssue } from '../shared/config/config-error.ts';

/**
 * argv -> command. Each command's module loads only when it runs: `--help` and a wrong
 * command name load nothing but this file, and a process loads only the parts its command uses
 * (a sidecar never loads the authority, the register or PostgreSQL's driver).
 */
const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  up: { summary: 'all-in-one demo on loopback: authority, sidecar and a demo upstream', load: async () => (await import('./commands/up.ts')).upCommand },
  config: { summary: 'validate a sidecar or authority configuration file', load: async () => (await import('./commands/config.ts')).configCommand },
  authority: { summary: 'run the license authority', load: async () => (await import('./commands/authority.ts')).authorityCommand },
  sidecar: { summary: 'run the license-enforcing proxy', load: async () => (await import('./commands/sidecar.ts')).sidecarCommand },
  licenses: { summary: 'issue, list, show, renew and revoke licenses', load: async () => (await import('./commands/licenses.ts')).licensesCommand },
  tokens: { summary: 'create, list and revoke API tokens', load: async () => (await import('./commands/tokens.ts')).tokensCommand },
  keys: { summary: 'list and rotate the signing keys', load: async () => (await import('./commands/keys.ts')).keysCommand },
  audit: { summary: 'show the audit log, or verify its hash chain (audit verify)', load: async () => (await import('./commands/audit.ts')).auditCommand },
  ports: { summary: 'request, list, show, approve, reject, release, transition, reclaim and export ports', load: async () => (await import('./commands/ports.ts')).portsCommand },
  check: { summary: 'check ports in sidecar, Kubernetes and compose files against the register', load: async () => (await import('./commands/check.ts')).checkCommand },
  drill: { summary: 'rehearse a license failure (revoke, expire, outage), then put everything back', load: async () => (await import('./commands/drill.ts')).drillCommand },
};

function help(): string {
  const lines = Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(10)} ${summary}`);
  return [
    'Usage: portwarden <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Every command takes --help. Commands that call the authority take --authority URL',
    '(default $PORTWARDEN_AUTHORITY, then http://127.0.0.1:7400) and read $PORTWARDEN_TOKEN;',
    'for an https authority, --authority-ca FILE and, when it requires a client certificate,',
    '--authority-cert FILE --authority-key FILE (or $PORTWARDEN_AUTHORITY_CA, _CERT, _KEY).',
    'Exit codes: 0 done, 1 a finding or a refusal, 2 bad input or usage.',
  ].join('\n');
}

/** Exit code for an error: 2 for bad input or usage, 1 for a refusal or failure. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof PortwardenError) {
    const status = errorCodes[err.code].status;
    return status === 400 || status === 413 || status === 415 || status === 422 ? 2 : 1;
  }
  return 1;
}

/** Runs one command line; the only place that decides the process's exit code. */
export async function main(argv: string[], ctx: Omit<CommandContext, 'argv'>): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ctx.stdout.write(`${help()}\n`);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name]?.load;
  if (!load) {
    ctx.stderr.write(`portwarden: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  try {
    const command = await load();
    return await command.run({ ...ctx, argv: rest });
  } catch (err) {
    if (err instanceof ConfigError) ctx.stderr.write(`${err.issues.map(formatIssue).join('\n')}\n`);
    else if (err instanceof PortwardenError) ctx.stderr.write(`portwarden ${name}: ${err.code}: ${err.message}\n`);
    else ctx.stderr.write(`portwarden ${name}: ${(err as Error).stack ?? String(err)}\n`);
    return exitCodeFor(err);
  }
}

/**
 * The process entry point: wires signals and streams, runs, exits. A second SIGTERM/SIGINT
 * exits at once. Commands flush their own logs before they resolve.
 */
export async function runCli(): Promise<void> {
  const shutdown = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (shutdown.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    shutdown.abort(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const code = await main(process.argv.slice(2), {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    signal: shutdown.signal,
  });
  process.exitCode = code;
  // every resource has been closed by now; do not let a stray handle keep the process up
  setImmediate(() => process.exit(code)).unref();
}
