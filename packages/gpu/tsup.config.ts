import { defineConfig } from 'tsup';
import base from '../../tooling/build/tsup-package.js';

export default defineConfig({
  ...base,
  entry: { index: 'src/index.ts', conformance: 'src/conformance/index.ts' },
});
