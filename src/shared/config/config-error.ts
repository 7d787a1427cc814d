import { PortwardenError } from '../errors.ts';

/** One problem in a configuration file, located by line and key. */
export interface ConfigIssue {
  file: string;
  /** 1-based line; 0 when the problem comes from the environment or has no place in the file. */
  line: number;
  key: string;
  message: string;
}

/** A configuration refused as a whole; `issues` lists every problem at once. */
export class ConfigError extends PortwardenError {
  readonly issues: readonly ConfigIssue[];

  constructor(code: 'config_invalid' | 'config_unreadable', issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(code, issues.map(formatIssue).join('\n'), options);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** `file:line: key: message`, or `env NAME: key: message` for an environment override. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}` : issue.file;
  return issue.key ? `${where}: ${issue.key}: ${issue.message}` : `${where}: ${issue.message}`;
}
