import { checkFinite, checkInt, QuantError } from './errors.js';
import { seededRandom } from './stats.js';

export type KMeansInit = 'linear' | 'random' | 'density';

export interface KMeansOptions {
  /** k = 2^bits clusters, bits 1..8. */
  readonly bits: number;
  /** Centroid initialisation (Deep Compression §3.2); linear is the paper's best. */
  readonly init?: KMeansInit;
  readonly seed?: number;
  readonly maxIterations?: number;
}

export interface WeightSharing {
  /** k shared values, ascending. */
  readonly codebook: Float32Array;
  /** Cluster of each weight; −1 for pruned (zero) weights, which are never clustered. */
  readonly indices: Int32Array;
  /** The weights with each non-zero replaced by its centroid. */
  readonly weights: Float32Array;
  readonly iterations: number;
  /** Within-cluster sum of squares after each iteration (the first entry is after initialisation). */
  readonly objective: readonly number[];
}

function initCentroids(sorted: Float64Array, k: number, init: KMeansInit, seed: number): Float64Array {
  const n = sorted.length;
  const lo = sorted[0]!;
  const hi = sorted[n - 1]!;
  if (init === 'linear')
    return Float64Array.from({ length: k }, (_, j) =>
      k === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * j) / (k - 1),
    );
  if (init === 'density') {
    // equally spaced on the CDF's y axis, mapped back through the empirical CDF
    return Float64Array.from(
      { length: k },
      (_, j) => sorted[Math.round((k === 1 ? 0.5 : j / (k - 1)) * (n - 1))]!,
    );
  }
  const rand = seededRandom(seed);
  return Float64Array.from({ length: k }, () => sorted[Math.floor(rand() * n)]!).sort();
}

/** Index of the first element of `sorted` above `x` (or at least `x` when `orEqual`). */
function firstAbove(sorted: Float64Array, x: number, orEqual = false): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x || (!orEqual && sorted[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * 1-D k-means (Lloyd) over the non-zero weights, exact: with the data sorted, each cluster is a
 * contiguous segment bounded by the midpoints of neighbouring centroids, found by binary search, and
 * segment sums come from prefix sums, so an iteration costs O(k log n).
 */
export function kmeansShare(w: Float32Array, options: KMeansOptions): WeightSharing {
  checkFinite('weights', w);
  checkInt('bits', options.bits, 1, 8);
  const k = 2 ** options.bits;
  const init = options.init ?? 'linear';
  if (!['linear', 'random', 'density'].includes(init))
    throw new QuantError(
      'invalid-argument',
      `unknown k-means init '${init}'; use linear, random or density.`,
    );
  const maxIterations = options.maxIterations ?? 100;
  checkInt('maxIterations', maxIterations, 0, 100000);

  const sorted = Float64Array.from(w.filter((v) => v !== 0)).sort();
  const n = sorted.length;
  const indices = new Int32Array(w.length).fill(-1);
  if (n === 0)
    return { codebook: new Float32Array(k), indices, weights: w.slice(), iterations: 0, objective: [0] };
  const s1 = new Float64Array(n + 1);
  const s2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    s1[i + 1] = s1[i]! + sorted[i]!;
    s2[i + 1] = s2[i]! + sorted[i]! * sorted[i]!;
  }
  const c = initCentroids(sorted, k, init, options.seed ?? 0);
  const ends = new Int32Array(k); // cluster j is sorted[ends[j-1] .. ends[j])
  const assign = () => {
    for (let j = 0; j < k - 1; j++) ends[j] = firstAbove(sorted, (c[j]! + c[j + 1]!) / 2);
    ends[k - 1] = n;
  };
  const sse = () => {
    let e = 0;
    for (let j = 0, start = 0; j < k; start = ends[j++]!) {
      const m = ends[j]! - start;
      e += s2[ends[j]!]! - s2[start]! - 2 * c[j]! * (s1[ends[j]!]! - s1[start]!) + m * c[j]! * c[j]!;
    }
    return Math.max(0, e);
  };
  assign();
  const objective = [sse()];
  let iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    for (let j = 0, start = 0; j < k; start = ends[j++]!) {
      if (ends[j]! > start) c[j] = (s1[ends[j]!]! - s1[start]!) / (ends[j]! - start);
    }
    const before = ends.slice();
    assign();
    objective.push(sse());
    if (ends.every((e, j) => e === before[j])) break;
  }
  const codebook = Float32Array.from(c);
  const weights = w.slice();
  const boundaries = Float64Array.from({ length: k - 1 }, (_, j) => (c[j]! + c[j + 1]!) / 2);
  for (let i = 0; i < w.length; i++) {
    if (w[i] === 0) continue;
    // a weight on a boundary joins the lower cluster, as in the iterations
    const j = firstAbove(boundaries, w[i]!, true);
    indices[i] = j;
    weights[i] = codebook[j]!;
  }
  return { codebook, indices, weights, iterations, objective };
}

/**
 * Deep Compression's centroid fine-tuning: the gradient of each shared weight is the sum of the
 * gradients of the weights in its cluster; one SGD step with learning rate `lr`.
 */
export function fineTuneCentroids(
  codebook: Float32Array,
  indices: Int32Array,
  gradient: Float32Array,
  lr: number,
): { codebook: Float32Array; gradient: Float64Array } {
  if (indices.length !== gradient.length) {
    throw new QuantError(
      'shape-mismatch',
      `${indices.length} cluster indices but ${gradient.length} gradients; they must match.`,
    );
  }
  checkFinite('gradient', gradient);
  const sums = new Float64Array(codebook.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i]!;
    if (j >= codebook.length)
      throw new QuantError('invalid-argument', `cluster index ${j} is out of range [0, ${codebook.length}).`);
    if (j >= 0) sums[j]! += gradient[i]!;
  }
  return { codebook: codebook.map((v, j) => v - lr * sums[j]!), gradient: sums };
}

/** The paper's compression ratio of weight sharing: n·b / (n·log2 k + k·b). */
export function weightSharingRatio(n: number, bits: number, b = 32): number {
  const k = 2 ** bits;
  return (n * b) / (n * bits + k * b);
}
