import { defineProject } from 'vitest/config';
import { timeouts } from '../../tooling/vitest-timeouts.js';

// GPU tests share one Dawn device per file and run files one at a time: lavapipe is a CPU driver.
export default defineProject({
  test: {
    name: 'gpu',
    include: ['src/**/*.test.ts'],
    fileParallelism: false,
    ...timeouts,
  },
});
