import { defineProject } from 'vitest/config';

// GPU tests share one Dawn device per file and run files one at a time: lavapipe is a CPU driver.
export default defineProject({
  test: {
    name: 'gpu',
    include: ['src/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
