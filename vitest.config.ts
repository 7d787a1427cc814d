import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // one throwaway PostgreSQL cluster per run for the shared store's tests (skipped when not
    // installed), and one directory per run for the console's screenshots
    globalSetup: ['test/helpers/postgres.ts', 'test/helpers/screenshot-dir.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // integration tests bind real sockets and spawn processes; keep the 2-core CI box responsive
    maxWorkers: 2,
  },
});
