import { defineConfig } from 'tsup';
import base from '../../tooling/build/tsup-package.js';

export default defineConfig({
  ...base,
  entry: { index: 'src/index.ts', conformance: 'src/conformance/index.ts' },
  // the declarations name GPUDevice & co.: consumers get @webgpu/types without configuring it
  dts: { banner: '/// <reference types="@webgpu/types" />' },
});
