import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/node/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});
