import type { Program } from './device.js';

// Test support: a program with a closed form, for tests of recording and pipeline building.

/** y = x · 3 + spec.add: one pipeline per `add`. */
export const AFFINE: Program<{ add: number }> = {
  name: 'test-affine',
  wgsl: ({ add }) => `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < arrayLength(&y)) { y[g.x] = x[g.x] * 3.0 + ${add.toFixed(1)}; }
}`,
};
