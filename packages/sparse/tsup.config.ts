import { defineConfig } from 'tsup';
import base from '../../tooling/build/tsup-package.js';

// The payload worker is a script of its own, found beside the entry that starts it.
export default defineConfig({ ...base, entry: ['src/index.ts', 'src/payload-worker.ts'] });
