import type { Writable } from 'node:stream';

/** What a command gets from the entry point; commands never touch `process` for these. */
export interface CommandContext {
  /** Arguments after the command name. */
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdout: Writable;
  stderr: Writable;
  /** Aborted on the first SIGTERM/SIGINT; long-running commands shut down gracefully on it. */
  signal: AbortSignal;
}

/** One `portwarden <name>` command (its one-line summary is in main.ts, so `--help` loads no command). `run` resolves to the exit code: 0 done, 1 a finding or refusal, 2 bad input. */
export interface Command {
  usage: string;
  run(ctx: CommandContext): Promise<number>;
}
