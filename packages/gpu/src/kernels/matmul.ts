import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { UniformStruct, uniformAt } from '../uniforms.js';
import { bindings } from '../wgsl.js';
import { broadcastShape } from './ops.js';

// Batched MatMul with numpy semantics: A [..., M, K] × B [..., K, N], the batch dims broadcast. Each
// workgroup computes a 32×32 tile of one batch's C from 16-deep slices of A and B staged in
// workgroup memory; its 16×16 invocations own 2×2 outputs each, strided by 16 so that neighbours
// touch neighbouring addresses. All sizes are uniforms: one pipeline serves every shape.

const TILE = 32;
const TK = 16;
/** Batch dims the uniform holds (rank ≤ 6 operands). */
export const MAX_MATMUL_BATCH_DIMS = 4;

const PARAMS = new UniformStruct('MatmulParams', {
  m: 'u32',
  n: 'u32',
  k: 'u32',
  tiles: 'u32',
  tilesN: 'u32',
  batches: 'u32',
  batchRank: 'u32',
  /** The batch dims innermost first, and A's and B's strides along them (0 where they broadcast). */
  batchSize: { u32s: MAX_MATMUL_BATCH_DIMS },
  aStride: { u32s: MAX_MATMUL_BATCH_DIMS },
  bStride: { u32s: MAX_MATMUL_BATCH_DIMS },
});

const matmulProgram: Program<Record<string, never>> = {
  name: 'matmul',
  wgsl: () => /* wgsl */ `
${bindings(
  [
    ['a', 'array<f32>', 'read'],
    ['b', 'array<f32>', 'read'],
    ['c', 'array<f32>', 'read_write'],
  ],
  0,
  PARAMS,
)}
var<workgroup> As: array<f32, ${TILE * TK}>;
var<workgroup> Bs: array<f32, ${TK * TILE}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= p.tiles * p.batches) { return; }
  let batch = wg / p.tiles;
  let m0 = (wg % p.tiles) / p.tilesN * ${TILE}u;
  let n0 = (wg % p.tiles) % p.tilesN * ${TILE}u;
  // the batch's offsets into A and B (stride 0 along the dims they broadcast over)
  var aBase = 0u;
  var bBase = 0u;
  var rest = batch;
  for (var d = 0u; d < p.batchRank; d++) {
    let size = ${uniformAt('batchSize', 'd')};
    let i = rest % size;
    rest /= size;
    aBase += i * ${uniformAt('aStride', 'd')};
    bBase += i * ${uniformAt('bStride', 'd')};
  }
  var acc = array<f32, 4>();
  for (var k0 = 0u; k0 < p.k; k0 += ${TK}u) {
    for (var l = li; l < ${TILE * TK}u; l += 256u) {
      let ar = m0 + l / ${TK}u;
      let ac = k0 + l % ${TK}u;
      As[l] = select(0.0, a[aBase + ar * p.k + ac], ar < p.m && ac < p.k);
      let br = k0 + l / ${TILE}u;
      let bc = n0 + l % ${TILE}u;
      Bs[l] = select(0.0, b[bBase + br * p.n + bc], br < p.k && bc < p.n);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      let a0 = As[lid.y * ${TK}u + kk];
      let a1 = As[(lid.y + 16u) * ${TK}u + kk];
      let b0 = Bs[kk * ${TILE}u + lid.x];
      let b1 = Bs[kk * ${TILE}u + lid.x + 16u];
      acc[0] = fma(a0, b0, acc[0]);
      acc[1] = fma(a0, b1, acc[1]);
      acc[2] = fma(a1, b0, acc[2]);
      acc[3] = fma(a1, b1, acc[3]);
    }
    workgroupBarrier();
  }
  let cBase = batch * p.m * p.n;
  for (var t = 0u; t < 4u; t++) {
    let row = m0 + lid.y + (t / 2u) * 16u;
    let col = n0 + lid.x + (t % 2u) * 16u;
    if (row < p.m && col < p.n) { c[cBase + row * p.n + col] = acc[t]; }
  }
}`,
};

/** The operand as [batch..., rows, cols]: numpy promotes a 1-D A to [1, K] and a 1-D B to [K, 1]. */
function asMatrix(shape: readonly number[], side: 'a' | 'b'): number[] {
  if (shape.length === 0)
    throw new GpuError('invalid-argument', 'MatMul operands must have at least one dimension.');
  if (shape.length > 1) return [...shape];
  return side === 'a' ? [1, shape[0]!] : [shape[0]!, 1];
}

/** Output shape of numpy MatMul of A and B (1-D operands' promoted axes dropped again). */
export function matmulShape(aShape: readonly number[], bShape: readonly number[]): number[] {
  const a = asMatrix(aShape, 'a');
  const b = asMatrix(bShape, 'b');
  const k = a[a.length - 1]!;
  if (b[b.length - 2] !== k)
    throw new GpuError(
      'invalid-argument',
      `MatMul of [${aShape.join(', ')}] and [${bShape.join(', ')}]: the inner dimensions ${k} and ${b[b.length - 2]} differ.`,
    );
  const batch = broadcastShape(a.slice(0, -2), b.slice(0, -2));
  return [
    ...batch,
    ...(aShape.length > 1 ? [a[a.length - 2]!] : []),
    ...(bShape.length > 1 ? [b[b.length - 1]!] : []),
  ];
}

/** Row-major strides of `shape` broadcast (right-aligned) to `to`: 0 along the dims it broadcasts over. */
function broadcastStrides(shape: readonly number[], to: readonly number[], unit: number): number[] {
  const padded = [...Array(to.length - shape.length).fill(1), ...shape];
  return padded.map((d, i) => (d === 1 ? 0 : padded.slice(i + 1).reduce((x, y) => x * y, unit)));
}

/** c = a × b (numpy MatMul, rank ≤ 6, batch dims broadcast); c has {@link matmulShape}'s size. */
export function encodeMatmul(r: Recorder, a: GpuTensor, b: GpuTensor, c: GpuTensor): void {
  const out = matmulShape(a.shape, b.shape);
  const [as, bs] = [asMatrix(a.shape, 'a'), asMatrix(b.shape, 'b')];
  const [m, k, n] = [as[as.length - 2]!, as[as.length - 1]!, bs[bs.length - 1]!];
  const batchShape = broadcastShape(as.slice(0, -2), bs.slice(0, -2));
  if (batchShape.length > MAX_MATMUL_BATCH_DIMS)
    throw new GpuError(
      'invalid-argument',
      `MatMul handles at most ${MAX_MATMUL_BATCH_DIMS} batch dims (rank 6), got [${out.join(', ')}].`,
    );
  const size = out.reduce((x, y) => x * y, 1);
  if (c.size !== size)
    throw new GpuError(
      'invalid-argument',
      `MatMul output [${out.join(', ')}] needs ${size} elements, got ${c.size}.`,
    );
  const batches = batchShape.reduce((x, y) => x * y, 1);
  if (size === 0) return;
  const tilesN = Math.ceil(n / TILE);
  const tiles = Math.ceil(m / TILE) * tilesN;
  const innerFirst = (v: readonly number[]) => [...v].reverse();
  const words = PARAMS.pack({
    m,
    n,
    k,
    tiles,
    tilesN,
    batches,
    batchRank: batchShape.length,
    batchSize: innerFirst(batchShape),
    aStride: innerFirst(broadcastStrides(as.slice(0, -2), batchShape, m * k)),
    bStride: innerFirst(broadcastStrides(bs.slice(0, -2), batchShape, k * n)),
  });
  r.dispatch(
    'matmul',
    r.gpu.pipeline(matmulProgram, {}),
    [a, b, c, r.gpu.uniforms(words)],
    grid(tiles * batches, r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

/** numpy MatMul in f64, rounded to f32: the product's data and shape. */
export function matmulReference(
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
): { data: Float32Array; shape: number[] } {
  const shape = matmulShape(aShape, bShape);
  const [as, bs] = [asMatrix(aShape, 'a'), asMatrix(bShape, 'b')];
  const [m, k, n] = [as[as.length - 2]!, as[as.length - 1]!, bs[bs.length - 1]!];
  const batchShape = broadcastShape(as.slice(0, -2), bs.slice(0, -2));
  const [sa, sb] = [
    broadcastStrides(as.slice(0, -2), batchShape, m * k),
    broadcastStrides(bs.slice(0, -2), batchShape, k * n),
  ];
  const batches = batchShape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(batches * m * n);
  for (let t = 0; t < batches; t++) {
    let [ao, bo, rest] = [0, 0, t];
    for (let d = batchShape.length - 1; d >= 0; d--) {
      const i = rest % batchShape[d]!;
      rest = Math.floor(rest / batchShape[d]!);
      ao += i * sa[d]!;
      bo += i * sb[d]!;
    }
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += a[ao + i * k + q]! * b[bo + q * n + j]!;
        data[(t * m + i) * n + j] = s;
      }
  }
  return { data, shape };
}
