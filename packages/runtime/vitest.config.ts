import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'runtime',
    include: ['src/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    // fetches the pretrained models of src/real-models.test.ts into a cache outside git (skips when offline)
    globalSetup: ['../../tooling/scripts/fetch-models.mjs'],
  },
});
