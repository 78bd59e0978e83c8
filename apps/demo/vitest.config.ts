import { defineProject } from 'vitest/config';
import { timeouts } from '../../tooling/vitest-timeouts.js';

export default defineProject({ test: { name: 'demo', include: ['test/**/*.test.ts'], ...timeouts } });
