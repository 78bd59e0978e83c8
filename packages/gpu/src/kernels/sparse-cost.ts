import type { ConvGeometry } from '../geometry.js';

/**
 * A sparse conv kernel's cost: a fixed part (its dispatches, and the latency of a CSR row's first
 * loads) and its useful FLOPs (two per non-zero weight per output pixel) at a sustained rate.
 */
interface SparseCost {
  readonly fixedSeconds: number;
  readonly flopsPerSecond: number;
}

/**
 * Fitted on an H100 through Dawn (apps/bench conv-crossover, 2026-11-23: the 86 distinct convs of
 * AlexNet, GoogLeNet, ResNet-50 and VGG-16 at batch 1 and 32, sparsity 0.5–0.9) as the pair that
 * chose best between sparse and dense over all of them, summed per network. The tiled kernel on few
 * images splits a row's non-zeros over threads and stays short of the GPU's rate; on a batch, direct
 * sparse (or the tiled kernel on wide maps) fills the GPU but pays a larger fixed part. The staged
 * kernel, which replaced them on a batch where its tiles fit the map, was not in that fit: it ran those
 * layers as fast or faster, so the estimate errs towards dense there. Refit on other GPUs.
 */
const FEW_IMAGES: SparseCost = { fixedSeconds: 15e-6, flopsPerSecond: 2e12 };
const BATCHED: SparseCost = { fixedSeconds: 50e-6, flopsPerSecond: 3e12 };

/**
 * Estimated seconds of the planner's sparse kernel for the conv at weight `density` (share of
 * non-zeros); `fewImages` is the tiled kernel's batch-1 regime (`sparseConvAlgorithm`).
 */
export function sparseConvSeconds(geo: ConvGeometry, density: number, fewImages: boolean): number {
  const { fixedSeconds, flopsPerSecond } = fewImages ? FEW_IMAGES : BATCHED;
  const flops = 2 * density * geo.o * geo.k * geo.n * geo.ho * geo.wo;
  return fixedSeconds + flops / flopsPerSecond;
}
