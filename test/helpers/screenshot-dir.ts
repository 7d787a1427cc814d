/**
 * vitest globalSetup: one directory per test run for the console's screenshots, named here
 * and made by the first test that saves one (see `screenshot` in ./browser.ts), so every test
 * file of a run writes into the same place. It is left behind for CI to keep as an artifact
 * and is never inside the repository. `PORTWARDEN_SCREENSHOTS` chooses it instead.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    screenshotDir: string;
  }
}

export function setup(project: TestProject): void {
  project.provide('screenshotDir', process.env.PORTWARDEN_SCREENSHOTS ?? join(tmpdir(), `portwarden-console-screenshots-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`));
}
