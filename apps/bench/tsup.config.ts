import { defineConfig } from 'tsup';

// One self-contained ES module per entry, so that the same file runs here and on a GPU machine without
// node_modules. Only node built-ins and the two native addons stay external: `webgpu`, and
// `onnxruntime-node`, which the peers table loads where it is present and otherwise reports missing.
export default defineConfig({
  entry: [
    'src/cli.ts',
    'src/demo.ts',
    'src/readme-tables.ts',
    'src/charts-cli.ts',
    'src/train-mnist.ts',
    'src/ship-pretrained.ts',
    // child processes (the ONNX Runtime Web peer, one cold model load), started by path from the bundles beside them
    'src/peers/ort-web-child.mjs',
    'src/tables/load-child.mjs',
    // started by decodeZskAsync in the load process, from beside its bundle
    'src/tables/payload-worker.mjs',
  ],
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  noExternal: [/^(?!webgpu$|onnxruntime-node$)/],
  external: ['webgpu', 'onnxruntime-node'],
  // TF.js's CommonJS modules call require() for node built-ins, which an ES module lacks.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  clean: true,
  splitting: false,
});
