import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { Command } from '../command.ts';
import { outputFormat, parseCommandArgs, commonOptions } from '../args.ts';
import { loadConfigFile } from '../../shared/config/load.ts';
import { ConfigError, formatIssue } from '../../shared/config/config-error.ts';
import { safeSidecarSchema } from '../../sidecar/reload/safety.ts';
import { authoritySchema } from '../../shared/config/authority-schema.ts';
import { PortwardenError } from '../../shared/errors.ts';

const usage = `Usage: portwarden config validate FILE [--kind sidecar|authority] [--format json]

Validates a sidecar or authority configuration file. The kind is guessed from the
file (a sidecar file has \`ports\`). Exit 0 when valid; 2 with \`file:line: key: message\`
for every problem.`;

export const configCommand: Command = {
  usage,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx.argv, { ...commonOptions, kind: { type: 'string' } });
    const format = outputFormat(values.format);
    if (values.help) {
      ctx.stdout.write(`${usage}\n`);
      return 0;
    }
    const [sub, file, ...rest] = positionals;
    if (sub !== 'validate' || file === undefined || rest.length > 0) throw new PortwardenError('usage', usage);
    const kind = values.kind ?? (await guessKind(file));
    if (kind !== 'sidecar' && kind !== 'authority') throw new PortwardenError('usage', '--kind must be sidecar or authority');
    try {
      await loadConfigFile(file, kind === 'sidecar' ? safeSidecarSchema : authoritySchema, ctx.env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      if (format === 'json') ctx.stdout.write(`${JSON.stringify({ file, kind, valid: false, issues: err.issues })}\n`);
      else ctx.stderr.write(`${err.issues.map(formatIssue).join('\n')}\n`);
      return 2;
    }
    if (format === 'json') ctx.stdout.write(`${JSON.stringify({ file, kind, valid: true, issues: [] })}\n`);
    else ctx.stdout.write(`${file}: valid ${kind} configuration\n`);
    return 0;
  },
};

async function guessKind(file: string): Promise<'sidecar' | 'authority'> {
  try {
    const data: unknown = parse(await readFile(file, 'utf8'));
    return typeof data === 'object' && data !== null && ('ports' in data || 'service' in data) ? 'sidecar' : 'authority';
  } catch {
    return 'sidecar'; // the loader reports the unreadable file with its line
  }
}
