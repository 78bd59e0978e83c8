import { defineProject } from 'vitest/config';
import { timeouts } from '../vitest-timeouts.js';

export default defineProject({
  test: {
    name: 'docs',
    include: ['src/**/*.test.ts'],
    ...timeouts,
    // the examples and consumer builds each take a core; the WebGPU ones share the adapter
    fileParallelism: false,
  },
});
