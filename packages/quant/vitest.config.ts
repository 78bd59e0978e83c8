import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: 'quant', include: ['src/**/*.test.ts'] } });
