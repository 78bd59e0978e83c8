import { defineConfig } from 'tsup';
import base from '../../tooling/build/tsup-package.js';

// tfjs-core ships its gradient registrations only as extensionless ES modules, which Node cannot
// load: bundle them (they register into tfjs-core's global engine, shared with the main entry).
export default defineConfig({
  ...base,
  entry: { index: 'src/index.ts', pretrained: 'src/pretrained.ts' },
  noExternal: [/^@tensorflow\/tfjs-core\/dist\/register_all_gradients/],
});
