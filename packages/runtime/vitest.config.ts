import { defineProject } from 'vitest/config';
import { timeouts } from '../../tooling/vitest-timeouts.js';

export default defineProject({
  test: {
    name: 'runtime',
    include: ['src/**/*.test.ts'],
    ...timeouts,
    fileParallelism: false,
    // fetches the pretrained models of src/real-models.test.ts into a cache outside git (skips when offline)
    globalSetup: ['../../tooling/scripts/fetch-models.mjs'],
  },
});
