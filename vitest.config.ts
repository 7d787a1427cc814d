import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // integration tests bind real sockets and spawn processes; keep the 2-core CI box responsive
    maxWorkers: 2,
  },
});
