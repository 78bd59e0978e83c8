import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'runtime',
    include: ['src/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
