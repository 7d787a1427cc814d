import type { ChainReport } from '../../authority/audit/verify.ts';
import { apiOptions, apiOptionsUsage, outputFormat, parseCommandArgs, expectNoArguments } from '../args.ts';
import { withApiClient } from '../api-client.ts';
import type { CommandContext } from '../command.ts';
import { printJson } from '../output.ts';

const auditVerifyUsage = `Usage: portwarden audit verify [--anchor ID:HASH]

Walks the audit log's hash chain on the authority: every row's hash must cover its
contents and the previous row's hash. Prints the number of rows and the head (ID:HASH);
keep the head somewhere else and pass it as --anchor later to prove that nothing up to
it was rewritten since, not even by someone who recomputed every hash after it.

Options:
${apiOptionsUsage}
  --anchor ID:HASH  the row id and hash recorded earlier (a head this command printed)
  --format table|json
  -h, --help
The admin token is read from $PORTWARDEN_TOKEN. Exit 0 intact, 1 a row does not match
(the first one is named), 2 bad input.`;

/** `portwarden audit verify`: exit 0 when the chain verifies, 1 naming the first row that does not. */
export async function runAuditVerify(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { ...apiOptions, anchor: { type: 'string' } });
  if (values.help) {
    ctx.stdout.write(`${auditVerifyUsage}\n`);
    return 0;
  }
  const format = outputFormat(values.format);
  expectNoArguments(positionals);
  const report = await withApiClient(ctx.env, values, (client) => client.get<ChainReport>('/v1/audit/verify', { anchor: values.anchor }));
  if (format === 'json') printJson(ctx.stdout, report);
  else ctx.stdout.write(`${describe(report)}\n`);
  return report.intact ? 0 : 1;
}

function describe(report: ChainReport): string {
  const head = report.head ? `head ${report.head.id}:${report.head.hash ?? '-'}` : 'no rows';
  const bad = report.first_bad;
  if (bad === null) return `audit chain intact: ${report.rows} row${report.rows === 1 ? '' : 's'}, ${head}`;
  const detail = bad.expected === null && bad.found === null ? '' : ` (expected ${bad.expected ?? '-'}, found ${bad.found ?? '-'})`;
  return `audit row ${bad.id}: ${bad.problem}: ${bad.message}${detail}`;
}
