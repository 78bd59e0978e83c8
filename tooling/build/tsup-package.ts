import { defineConfig } from 'tsup';

/** The build of every published package: one ESM entry with its declarations and source maps. */
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
});
