import { checkFinite, checkInt, checkRange, checkShape, QuantError } from './errors.js';
import { maskSparsity } from './mask.js';
import type { PruneResult } from './prune.js';

export type Norm = 'l1' | 'l2';
/** OIHW convolution weight shape. */
export type ConvShape = readonly [o: number, i: number, kh: number, kw: number];

function norm(values: number[], kind: Norm): number {
  return kind === 'l1'
    ? values.reduce((s, v) => s + Math.abs(v), 0)
    : Math.sqrt(values.reduce((s, v) => s + v * v, 0));
}

/** Norm of each output filter (axis 0) or each input channel (axis 1) of OIHW weights. */
export function channelNorms(
  w: Float32Array,
  shape: ConvShape,
  axis: 0 | 1,
  kind: Norm = 'l1',
): Float64Array {
  checkShape('weights', w, shape);
  checkFinite('weights', w);
  const [o, i, kh, kw] = shape;
  const k = kh * kw;
  const groups: number[][] = Array.from({ length: axis === 0 ? o : i }, () => []);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let j = 0; j < k; j++) groups[axis === 0 ? a : b]!.push(w[(a * i + b) * k + j]!);
  return Float64Array.from(groups, (g) => norm(g, kind));
}

/** Indices (increasing) of the `keep` largest norms; ties keep the lower index. */
function topIndices(norms: Float64Array, keep: number): Uint32Array {
  const order = Array.from(norms.keys()).sort((a, b) => norms[b]! - norms[a]! || a - b);
  return Uint32Array.from(order.slice(0, keep)).sort();
}

export interface ChannelPruneResult {
  /** Kept output filters (axis 0) or input channels (axis 1), increasing: slim the neighbouring layer with them. */
  readonly kept: Uint32Array;
  readonly weights: Float32Array;
  readonly shape: [number, number, number, number];
}

/** Gathers the given output filters (axis 0) or input channels (axis 1) of OIHW weights. */
export function selectChannels(
  w: Float32Array,
  shape: ConvShape,
  axis: 0 | 1,
  kept: Uint32Array,
): ChannelPruneResult {
  checkShape('weights', w, shape);
  const [o, i, kh, kw] = shape;
  const k = kh * kw;
  for (const c of kept) {
    if (c >= shape[axis])
      throw new QuantError('invalid-argument', `channel ${c} is out of range [0, ${shape[axis]}).`);
  }
  const no = axis === 0 ? kept.length : o;
  const ni = axis === 1 ? kept.length : i;
  const out = new Float32Array(no * ni * k);
  for (let a = 0; a < no; a++) {
    for (let b = 0; b < ni; b++) {
      const src = ((axis === 0 ? kept[a]! : a) * i + (axis === 1 ? kept[b]! : b)) * k;
      out.set(w.subarray(src, src + k), (a * ni + b) * k);
    }
  }
  return { kept, weights: out, shape: [no, ni, kh, kw] };
}

/** Removes the `rate` fraction of output filters (axis 0) or input channels (axis 1) with the smallest norm. */
export function pruneChannels(
  w: Float32Array,
  shape: ConvShape,
  axis: 0 | 1,
  rate: number,
  kind: Norm = 'l1',
): ChannelPruneResult {
  checkRange('pruning rate', rate, 0, 1);
  const norms = channelNorms(w, shape, axis, kind);
  return selectChannels(w, shape, axis, topIndices(norms, norms.length - Math.round(rate * norms.length)));
}

/** Zeroes the `rate` fraction of R×C blocks of a rows×cols matrix with the smallest norm (for BSR kernels). */
export function pruneBlocks(
  w: Float32Array,
  rows: number,
  cols: number,
  blockRows: number,
  blockCols: number,
  rate: number,
  kind: Norm = 'l2',
): PruneResult {
  checkShape('weights', w, [rows, cols]);
  checkFinite('weights', w);
  checkInt('blockRows', blockRows, 1, Math.max(1, rows));
  checkInt('blockCols', blockCols, 1, Math.max(1, cols));
  checkRange('pruning rate', rate, 0, 1);
  const br = Math.ceil(rows / blockRows);
  const bc = Math.ceil(cols / blockCols);
  const cells = (b: number) => {
    const out: number[] = [];
    const r0 = Math.floor(b / bc) * blockRows;
    const c0 = (b % bc) * blockCols;
    for (let r = r0; r < Math.min(r0 + blockRows, rows); r++)
      for (let c = c0; c < Math.min(c0 + blockCols, cols); c++) out.push(r * cols + c);
    return out;
  };
  const norms = Float64Array.from({ length: br * bc }, (_, b) =>
    norm(
      cells(b).map((p) => w[p]!),
      kind,
    ),
  );
  const kept = new Set(topIndices(norms, norms.length - Math.round(rate * norms.length)));
  const mask = new Uint8Array(w.length);
  for (const b of kept) for (const p of cells(b)) mask[p] = 1;
  const weights = w.map((v, p) => (mask[p] ? v : 0));
  const threshold = kept.size < norms.length ? Math.max(...norms.filter((_, b) => !kept.has(b))) : 0;
  return { weights, mask, threshold, sparsity: maskSparsity(mask) };
}

/**
 * N:M sparsity along each row (the input dimension): in every group of M consecutive weights keep the N
 * largest magnitudes (ties keep the earlier). A last partial group of g < M keeps min(N, g).
 */
export function pruneNM(w: Float32Array, rows: number, cols: number, n = 2, m = 4): PruneResult {
  checkShape('weights', w, [rows, cols]);
  checkFinite('weights', w);
  checkInt('M', m, 1, 256);
  checkInt('N', n, 0, m);
  const mask = new Uint8Array(w.length);
  for (let r = 0; r < rows; r++) {
    for (let c0 = 0; c0 < cols; c0 += m) {
      const group = Array.from({ length: Math.min(m, cols - c0) }, (_, j) => r * cols + c0 + j);
      group.sort((a, b) => Math.abs(w[b]!) - Math.abs(w[a]!) || a - b);
      for (const p of group.slice(0, n)) mask[p] = 1;
    }
  }
  const weights = w.map((v, p) => (mask[p] ? v : 0));
  return { weights, mask, threshold: 0, sparsity: maskSparsity(mask) };
}
