import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { u, workgroupIndex } from '../wgsl.js';

/**
 * One invocation per output element e < total, 256 to a workgroup, spread over a 2-D grid: the
 * common shape of the pointwise kernels. `decls` are the bindings and helper functions, `body` the
 * statements that compute element e.
 */
export function elementwise(
  r: Recorder,
  label: string,
  key: string,
  total: number,
  decls: string,
  body: string,
  buffers: readonly GpuTensor[],
): void {
  const groups = Math.ceil(total / 256);
  const [nx] = grid(groups, 65535);
  const wgsl = () => /* wgsl */ `
${decls}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  let e = wg * 256u + li;
  if (e >= ${u(total)}) { return; }
  ${body}
}`;
  r.dispatch(
    label,
    r.gpu.pipeline(`${label}:${key}:${nx}`, wgsl),
    buffers,
    grid(groups, r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}
