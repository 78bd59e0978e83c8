import { defineProject } from 'vitest/config';
import { timeouts } from '../../tooling/vitest-timeouts.js';

export default defineProject({ test: { name: 'bench', include: ['src/**/*.test.ts'], ...timeouts } });
