import { defineConfig } from 'tsup';

// One self-contained ES module per entry (only `webgpu` and node built-ins stay external), so that the
// same file runs here and, packed with ../shared/device/pack.sh, on a GPU machine without node_modules.
export default defineConfig({
  entry: ['src/cli.ts', 'src/demo.ts', 'src/readme-tables.ts', 'src/charts-cli.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  noExternal: [/.*/],
  external: ['webgpu'],
  clean: true,
  splitting: false,
});
