import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { type Activation, activationFn, bindings, u, workgroupIndex } from '../wgsl.js';
import { GEMV_MAX_ROWS, partialSumsDecl, sumPartials } from './gemv.js';

// A fully-connected layer whose weights are ±α or {−α, 0, α} per output row (BinaryConnect, TWN and
// TTQ-style layers that keep float activations) runs on its weights' bit planes: 1 or 2 bits a weight
// instead of 32. On few rows an FC layer streams its weights once and is bound by their bytes (VGG-16's
// three FC layers hold 0.5 GB as f32), so 16–32× fewer bytes is what makes it faster; every weight is
// still one multiply-add per row, its ±1 or 0 chosen by bit tests shared by the rows. A workgroup owns
// `rows` output channels; its threads split the words of K, each word's 32 inputs loaded once for all
// those channels, and add their partial sums in workgroup memory, as the f32 GEMV does.

/** What the planes hold: one plane of signs (1 = −α), or a non-zero plane then a sign plane. */
export type LowBitWeights = 'binary' | 'ternary';

/** Output channels per workgroup to choose from, most first. */
const ROW_CHOICES = [16, 8, 4] as const;
/** Workgroups a layer should make at least: about two per SM of a large GPU. */
const MIN_GROUPS = 256;

/**
 * Output channels per workgroup: the most that leave `MIN_GROUPS` workgroups, and no more than 8
 * for a single row. On an H100, 16 channels ran 1.5–1.6× faster than 8 at batch 2 and 4 on layers of
 * 4096 outputs, 8 was up to 8% faster than 16 at batch 1, and layers of 1000 outputs ran fastest with 4
 * (apps/bench/results/h100/2026-11-24/lowbit-fc).
 */
export function lowBitRowsPerGroup(outputs: number, batch: number): number {
  const fits = (r: number) => (r <= 8 || batch > 1) && Math.ceil(outputs / r) >= MIN_GROUPS;
  return ROW_CHOICES.find(fits) ?? ROW_CHOICES[ROW_CHOICES.length - 1]!;
}
/** Threads of a workgroup at most: WebGPU's guaranteed invocations per workgroup. */
const MAX_THREADS = 256;
/** Partial sums the workgroup memory holds: 16 KiB, WebGPU's guaranteed minimum. */
const PARTIAL_SUMS = 4096;

export function lowBitPlaneCount(w: LowBitWeights): number {
  return w === 'binary' ? 1 : 2;
}

/** Threads that split K: enough for every word of a row, within the workgroup memory for their sums. */
function threadsFor(k: number, values: number): number {
  const words = Math.ceil(k / 32);
  const fit = Math.min(MAX_THREADS, PARTIAL_SUMS / values);
  let t = 32;
  while (t < words && t * 2 <= fit) t *= 2;
  return t;
}

interface LowBitFcSpec {
  readonly batch: number;
  readonly k: number;
  readonly outputs: number;
  readonly weights: LowBitWeights;
  readonly rows: number;
  readonly activation: Activation;
  readonly maxDim: number;
}

/** Batch rows one workgroup takes; more rows are split over workgroups. */
const chunkRows = (batch: number) => Math.min(batch, GEMV_MAX_ROWS);

function groups({ batch, outputs, rows }: LowBitFcSpec): number {
  return Math.ceil(outputs / rows) * Math.ceil(batch / chunkRows(batch));
}

const FC_LOWBIT: Program<LowBitFcSpec> = {
  name: 'fc-lowbit',
  wgsl: (spec) => {
    const { batch, k, outputs: o, weights, rows, activation, maxDim } = spec;
    const n = chunkRows(batch);
    const values = rows * n;
    const threads = threadsFor(k, values);
    const outGroups = Math.ceil(o / rows);
    const [nx] = grid(groups(spec), maxDim);
    // inputs are read as vectors where every row of x starts on a 16-byte boundary
    const v = k % 4 === 0 ? 4 : 1;
    const words = Math.ceil(k / 32);
    const full = Math.floor(k / 32);
    const ternary = weights === 'ternary';
    const signBase = ternary ? o * words : 0;
    const rs = Array.from({ length: rows }, (_, r) => r);
    const bs = Array.from({ length: n }, (_, b) => b);
    const lane = (b: number, e: number) => (v === 4 ? `x${b}.${'xyzw'[e]}` : `x${b}`);
    // one word of K: `count` inputs from word `wi`, bit e of each plane shifted down to bit 0 as it goes
    const word = (count: number) => `
    ${rs.map((r) => `var s${r} = planes[${u(signBase)} + w${r} + wi];${ternary ? ` var z${r} = planes[w${r} + wi];` : ''}`).join('\n    ')}
    for (var q = 0u; q < ${u(count / v)}; q++) {
      ${bs.map((b) => `let x${b} = x[r${b} + wi * ${u(32 / v)} + q];`).join(' ')}
      ${Array.from({ length: v }, (_, e) =>
        rs
          .map((r) => {
            // ±1.0 as bits: the sign bit moved to bit 31 on 1.0's; ternary ANDs it with all ones or
            // zeros, the non-zero bit spread by an arithmetic shift (no compares or selects)
            const sign = `((s${r} << ${u(31 - e)}) & 0x80000000u) | 0x3f800000u`;
            const t = ternary ? `(${sign}) & u32(i32(z${r} << ${u(31 - e)}) >> 31u)` : sign;
            return `{ let t = bitcast<f32>(${t}); ${bs.map((b) => `a${r}_${b} = fma(t, ${lane(b, e)}, a${r}_${b});`).join(' ')} }`;
          })
          .join('\n      '),
      ).join('\n      ')}
      ${rs.map((r) => `s${r} >>= ${u(v)};${ternary ? ` z${r} >>= ${u(v)};` : ''}`).join(' ')}
    }`;
    return /* wgsl */ `
${bindings([
  ['x', v === 4 ? 'array<vec4<f32>>' : 'array<f32>', 'read'],
  ['planes', 'array<u32>', 'read'],
  ['alpha', 'array<f32>', 'read'],
  ['bias', 'array<f32>', 'read'],
  ['y', 'array<f32>', 'read_write'],
])}
${activationFn(activation)}
${partialSumsDecl(values, threads)}

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  let o0 = (wg % ${u(outGroups)}) * ${u(rows)};
  let b0 = (wg / ${u(outGroups)}) * ${u(n)};
  // channels past the last read its planes, rows past the last batch row read that row; neither is stored
  ${rs.map((r) => `let w${r} = min(o0 + ${u(r)}, ${u(o - 1)}) * ${u(words)};`).join('\n  ')}
  ${bs.map((b) => `let r${b} = min(b0 + ${u(b)}, ${u(batch - 1)}) * ${u(k / v)};`).join('\n  ')}
  ${rs.flatMap((r) => bs.map((b) => `var a${r}_${b} = 0.0;`)).join(' ')}
  for (var wi = li; wi < ${u(full)}; wi += ${u(threads)}) {${word(32)}
  }
  ${
    // the last word's bits past K are zero and its inputs past K are not read
    k % 32 === 0 ? '' : `if (li == ${u(full % threads)}) { let wi = ${u(full)};${word(k % 32)}\n  }`
  }
  ${rs.flatMap((r) => bs.map((b) => `part[${u((r * n + b) * threads)} + li] = a${r}_${b};`)).join(' ')}
  ${sumPartials(values, threads)}
  for (var j = li; j < ${u(values)}; j += ${u(threads)}) {
    let oc = o0 + j / ${u(n)};
    let row = b0 + j % ${u(n)};
    if (oc < ${u(o)} && row < ${u(batch)}) {
      y[row * ${u(o)} + oc] = act(part[j * ${u(threads)}] * alpha[oc] + bias[oc]);
    }
  }
}`;
  },
};

export interface LowBitFcBuffers {
  /** Inputs [batch, k]. */
  readonly x: GpuTensor;
  /** [outputs, ⌈k/32⌉] words per plane, planes one after another (see {@link LowBitWeights}). */
  readonly planes: GpuTensor;
  /** α per output channel. */
  readonly alpha: GpuTensor;
  readonly bias: GpuTensor;
  /** Outputs [batch, outputs]. */
  readonly y: GpuTensor;
}

/**
 * Records y = act(α·(x·Tᵀ) + bias) for codes T ∈ {−1, 1} or {−1, 0, 1} [outputs, k] held as bit planes;
 * `rows` output channels per workgroup ({@link lowBitRowsPerGroup} by default, 16 at most).
 */
export function encodeLowBitFc(
  r: Recorder,
  b: LowBitFcBuffers,
  shape: { readonly batch: number; readonly k: number; readonly outputs: number },
  weights: LowBitWeights,
  activation: Activation,
  rows = lowBitRowsPerGroup(shape.outputs, shape.batch),
): void {
  if (!Number.isInteger(rows) || rows < 1 || rows > ROW_CHOICES[0])
    throw new GpuError(
      'invalid-argument',
      `${rows} output channels per workgroup is outside 1..${ROW_CHOICES[0]}.`,
    );
  const maxDim = r.gpu.limits.maxComputeWorkgroupsPerDimension;
  const spec: LowBitFcSpec = { ...shape, weights, rows, activation, maxDim };
  r.dispatch(
    'fc-lowbit',
    r.gpu.pipeline(FC_LOWBIT, spec),
    [b.x, b.planes, b.alpha, b.bias, b.y],
    grid(groups(spec), maxDim),
  );
}
