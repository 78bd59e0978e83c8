import type { Program } from '../device.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { type Activation, activationFn, bindings, u, workgroupIndex } from '../wgsl.js';
import { type ValueSource, valueBindings, valueDecls, valuePrologue } from './values.js';

const THREADS = 64;
const MAX_ROWS = 4;

export interface SparseFcBuffers {
  /** Inputs [batch, k]. */
  readonly x: GpuTensor;
  readonly rowPtr: GpuTensor;
  readonly colIdx: GpuTensor;
  readonly values: readonly GpuTensor[];
  readonly bias: GpuTensor;
  /** Outputs [batch, outputs]. */
  readonly y: GpuTensor;
}

/**
 * Sparse fully-connected layer y = act(x·Wᵀ + b) with W in CSR [outputs, k]: a workgroup of 64 per
 * output row (vector CSR), so a long row is spread over 64 invocations and short rows cost one
 * workgroup each; rows are balanced by work, not by count. SpMV at batch 1, SpMM for up to four
 * batch rows per workgroup (each weight loaded once for all of them).
 */
export function encodeSparseFc(
  r: Recorder,
  b: SparseFcBuffers,
  batch: number,
  k: number,
  outputs: number,
  values: ValueSource,
  activation: Activation,
): void {
  r.dispatch(
    batch === 1 ? 'csr-spmv' : 'csr-spmm-fc',
    r.gpu.pipeline(FC_SPARSE, { batch, k, outputs, values, activation }),
    [b.x, b.rowPtr, b.colIdx, b.bias, b.y, ...b.values],
    grid(fcGroups(batch, outputs), r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

/** Workgroups: one per output row and chunk of up to four batch rows. */
function fcGroups(batch: number, outputs: number): number {
  return outputs * Math.ceil(batch / Math.min(batch, MAX_ROWS));
}

const FC_SPARSE: Program<{
  readonly batch: number;
  readonly k: number;
  readonly outputs: number;
  readonly values: ValueSource;
  readonly activation: Activation;
}> = {
  name: 'fc-sparse',
  wgsl: ({ batch, k, outputs, values, activation }) => {
    const rows = Math.min(batch, MAX_ROWS);
    const total = fcGroups(batch, outputs);
    const [nx] = grid(total, 65535);
    return /* wgsl */ `
${bindings([
  ['x', 'array<f32>', 'read'],
  ['rowPtr', 'array<u32>', 'read'],
  ['colIdx', 'array<u32>', 'read'],
  ['bias', 'array<f32>', 'read'],
  ['y', 'array<f32>', 'read_write'],
])}
${valueBindings(values, 5)}
${activationFn(activation)}
${valueDecls(values)}
var<workgroup> partial: array<f32, ${u(THREADS * rows)}>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  if (wg >= ${u(total)}) { return; }
  ${valuePrologue(values, THREADS)}
  let o = wg % ${u(outputs)};
  let b0 = (wg / ${u(outputs)}) * ${u(rows)};
  var acc: array<f32, ${u(rows)}>;
  for (var j = rowPtr[o] + li; j < rowPtr[o + 1u]; j += ${u(THREADS)}) {
    let v = value(j);
    let c = colIdx[j];
    for (var i = 0u; i < ${u(rows)}; i++) {
      acc[i] = fma(v, x[min(b0 + i, ${u(batch - 1)}) * ${u(k)} + c], acc[i]);
    }
  }
  for (var i = 0u; i < ${u(rows)}; i++) { partial[i * ${u(THREADS)} + li] = acc[i]; }
  for (var stride = ${u(THREADS / 2)}; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (li < stride) {
      for (var i = 0u; i < ${u(rows)}; i++) { partial[i * ${u(THREADS)} + li] += partial[i * ${u(THREADS)} + li + stride]; }
    }
  }
  if (li == 0u) {
    for (var i = 0u; i < ${u(rows)}; i++) {
      if (b0 + i < ${u(batch)}) { y[(b0 + i) * ${u(outputs)} + o] = act(partial[i * ${u(THREADS)}] + bias[o]); }
    }
  }
}`;
  },
};
