import { createRequire } from 'node:module';
import { defineProject } from 'vitest/config';
import { timeouts } from '../../tooling/vitest-timeouts.js';

// tfjs-core's gradient registrations are extensionless ES modules, which Node cannot load: Vite
// transforms them (as tsup bundles them for dist), while the package itself stays Node's CommonJS
// build, as in production; both share tfjs-core's global engine.
export default defineProject({
  resolve: {
    alias: [
      {
        find: /^@tensorflow\/tfjs-core$/,
        replacement: createRequire(import.meta.url).resolve('@tensorflow/tfjs-core'),
      },
    ],
  },
  test: {
    name: 'train',
    include: ['src/**/*.test.ts'],
    server: { deps: { inline: [/tfjs-core\/dist\/(?!tf-core)/] } },
    ...timeouts,
  },
});
