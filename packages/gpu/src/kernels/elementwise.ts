import type { Program } from '../device.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import type { UniformStruct, UniformValues } from '../uniforms.js';

/** Invocations per workgroup of the elementwise skeleton. */
const THREADS = 256;

/**
 * WGSL of the common shape of the pointwise kernels: one invocation per element e < `total` (a u32
 * WGSL expression: `p.total` of a uniform, or a literal in a specialised kernel), 256 to a workgroup,
 * over the 2-D grid that {@link dispatchElementwise} spreads. `decls` are the bindings and helper
 * functions, `body` the statements that compute element e.
 */
export function elementwiseWgsl(decls: string, total: string, body: string): string {
  return /* wgsl */ `
${decls}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = (wid.x + wid.y * nwg.x) * ${THREADS}u + li;
  if (e >= ${total}) { return; }
  ${body}
}`;
}

/** Dispatches an {@link elementwiseWgsl} program at `spec` over `total` elements, `buffers` bound at 0, 1, …. */
export function dispatchElementwise<S>(
  r: Recorder,
  label: string,
  program: Program<S>,
  spec: S,
  total: number,
  buffers: readonly (GpuTensor | GPUBuffer)[],
): void {
  r.dispatch(
    label,
    r.gpu.pipeline(program, spec),
    buffers,
    grid(Math.ceil(total / THREADS), r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

/**
 * Dispatches a uniform-driven {@link elementwiseWgsl} program over `values.total` elements: `buffers`
 * at bindings 0, 1, … and `params` packed from `values` right after them (declare it with
 * `bindings(list, params)`), so that one pipeline serves every size.
 */
export function encodeElementwise<S, F extends string>(
  r: Recorder,
  label: string,
  program: Program<S>,
  spec: S,
  params: UniformStruct<F | 'total'>,
  values: UniformValues<F | 'total'>,
  buffers: readonly (GpuTensor | GPUBuffer)[],
): void {
  const total = values.total as number;
  dispatchElementwise(r, label, program, spec, total, [...buffers, r.gpu.uniforms(params.pack(values))]);
}
