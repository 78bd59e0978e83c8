import { defineProject } from 'vitest/config';
import { timeouts } from '../../tooling/vitest-timeouts.js';

export default defineProject({ test: { name: 'sparse', include: ['src/**/*.test.ts'], ...timeouts } });
