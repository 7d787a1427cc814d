import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PortwardenError } from '../shared/errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes. */
export const commonOptions = {
  help: { type: 'boolean', short: 'h' },
  format: { type: 'string' },
} as const satisfies Options;

/** Options of commands that call the authority's API. */
export const apiOptions = {
  ...commonOptions,
  authority: { type: 'string' },
  'authority-ca': { type: 'string' },
  'authority-cert': { type: 'string' },
  'authority-key': { type: 'string' },
} as const satisfies Options;

/** The help lines of `apiOptions` (bar `--format` and `--help`), descriptions from column 23. */
export const apiOptionsUsage = `  --authority URL     default $PORTWARDEN_AUTHORITY, then http://127.0.0.1:7400
  --authority-ca FILE trust only this CA for an https authority ($PORTWARDEN_AUTHORITY_CA)
  --authority-cert FILE, --authority-key FILE
                      client certificate and key, for an authority that requires one
                      ($PORTWARDEN_AUTHORITY_CERT, $PORTWARDEN_AUTHORITY_KEY)`;

/** util.parseArgs, strict, with its errors turned into `usage` errors. */
export function parseCommandArgs<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new PortwardenError('usage', (cause as Error).message, { cause });
  }
}

/** `--format` is `table` (default) or `json`. */
export function outputFormat(value: string | undefined): 'table' | 'json' {
  if (value === undefined || value === 'table') return 'table';
  if (value === 'json') return 'json';
  throw new PortwardenError('usage', `--format must be "table" or "json", not "${value}"`);
}

/** For commands that take options only: a positional argument is a usage error. */
export function expectNoArguments(positionals: string[]): void {
  if (positionals.length > 0) throw new PortwardenError('usage', `unexpected argument "${positionals[0]}"`);
}
