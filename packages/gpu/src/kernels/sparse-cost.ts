import type { ConvGeometry } from '../geometry.js';

/**
 * A sparse conv kernel's cost: a fixed part (its dispatches, and the latency of a CSR row's first
 * loads) and its useful FLOPs (two per non-zero weight per output pixel) at a sustained rate.
 */
interface SparseCost {
  readonly fixedSeconds: number;
  readonly flopsPerSecond: number;
}

/** Which fitted cost a sparse conv runs at: its kernel and batch, as the planner chooses them. */
export type SparseCostRegime = 'few-images' | 'batched' | 'pointwise' | 'staged';

/**
 * Fitted on an H100 through Dawn (apps/bench conv-crossover: the 86 distinct convs of AlexNet,
 * GoogLeNet, ResNet-50 and VGG-16) as the costs that chose best between sparse and dense over all of
 * them, summed per network, without ever choosing slower than dense.
 * - `few-images`, `batched` (2026-11-23, batch 1 and 32, sparsity 0.5–0.9): the tiled kernel on few
 *   images splits a row's non-zeros over threads and stays short of the GPU's rate; on a batch, direct
 *   sparse (or the tiled kernel on wide maps) fills the GPU but pays a larger fixed part. The few-images
 *   fixed part was refitted on 2026-11-24 (15 → 10 µs), after the tiled kernel stopped padding
 *   unpadded inputs; a faster rate (2.5 TFLOP/s) lost AlexNet's convs 0.7–5% against dense.
 * - `pointwise`, `staged` (2026-11-24, batch 32, sparsity 0.7–0.9): the tiled kernel on a batch's 1×1
 *   convs, and the staged kernel. At 6 TFLOP/s or less for the staged kernel every network's convs
 *   stayed at least as fast as dense; at 7, ResNet-50's lost 1% at 70%.
 * Refit on other GPUs.
 */
const COSTS: Record<SparseCostRegime, SparseCost> = {
  'few-images': { fixedSeconds: 10e-6, flopsPerSecond: 2e12 },
  batched: { fixedSeconds: 50e-6, flopsPerSecond: 3e12 },
  pointwise: { fixedSeconds: 10e-6, flopsPerSecond: 4e12 },
  staged: { fixedSeconds: 40e-6, flopsPerSecond: 6e12 },
};

/** Estimated seconds of a sparse conv kernel for the conv at weight `density` (share of non-zeros). */
export function sparseConvSeconds(geo: ConvGeometry, density: number, regime: SparseCostRegime): number {
  const { fixedSeconds, flopsPerSecond } = COSTS[regime];
  const flops = 2 * density * geo.o * geo.k * geo.n * geo.ho * geo.wo;
  return fixedSeconds + flops / flopsPerSecond;
}
