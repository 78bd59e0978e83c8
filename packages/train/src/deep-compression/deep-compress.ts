import { type KMeansInit, type SparsitySchedule, weightSharingRatio } from '@zeroskip/quant';
import type { tf } from '../engine.js';
import { checkInt } from '../errors.js';
import {
  type CompressibleLayer,
  checkLayers,
  type GradientHook,
  type LayerSetting,
  settingFor,
  type WeightHook,
} from './layers.js';
import { PruningMasks } from './masks.js';
import { type SharedLayer, WeightSharing } from './sharing.js';

export interface DeepCompressOptions {
  readonly layers: readonly CompressibleLayer[];
  /**
   * One training step (or epoch: `pruneSteps`, `fineTuneSteps` and the schedule count calls): compute
   * the gradients, pass them through `gradientHook`, apply them with the optimizer, then call
   * `weightHook`. A returned promise is awaited.
   */
  readonly trainStep: (gradientHook: GradientHook, weightHook: WeightHook) => unknown;
  /** A score on held-out data (e.g. accuracy), reported before pruning and after each stage. */
  readonly evaluate?: () => number | Promise<number>;
  /**
   * Pruned fraction of a layer as a function of the retraining step: @zeroskip/quant's
   * `iterativeSchedule` (Han et al.) or `agpSchedule` (Zhu & Gupta), for all layers or per name/kind.
   */
  readonly schedule: LayerSetting<SparsitySchedule>;
  /** Retraining steps of the pruning stage; the schedule is read before each. */
  readonly pruneSteps: number;
  /** Bits of each layer's codebook index (k = 2^bits). */
  readonly bits: LayerSetting<number>;
  /** Training steps that move only the centroids. */
  readonly fineTuneSteps: number;
  /** Moves the centroids, e.g. `tf.train.adam(1e-3)`; its state stays with the caller. */
  readonly centroidOptimizer: tf.Optimizer;
  readonly init?: KMeansInit;
}

export interface CompressedLayer extends SharedLayer {
  /** Fraction of the layer's weights that survived pruning. */
  readonly kept: number;
  /** Deep Compression's weight-sharing ratio on the survivors, against 32-bit floats. */
  readonly sharingRatio: number;
}

export interface DeepCompressResult {
  readonly layers: CompressedLayer[];
  /** `evaluate` before pruning and after each stage; absent without `evaluate`. */
  readonly scores?: {
    readonly dense: number;
    readonly pruned: number;
    readonly shared: number;
    readonly fineTuned: number;
  };
}

const isSchedule = (s: LayerSetting<SparsitySchedule>): s is SparsitySchedule => typeof s === 'function';

/** Retrains under masks, pruning whenever a layer's scheduled rate rises (masks never regrow). */
async function pruneStage(options: DeepCompressOptions): Promise<void> {
  const { layers, schedule, trainStep } = options;
  const schedules = layers.map((l) => settingFor(schedule, l, isSchedule, 'pruning schedule'));
  const masks = new PruningMasks(layers);
  try {
    const rates = layers.map(() => 0);
    for (let step = 0; step < options.pruneSteps; step++) {
      const targets = schedules.map((s) => s(step));
      if (targets.some((t, i) => t > rates[i]!)) {
        targets.forEach((t, i) => {
          rates[i] = Math.max(rates[i]!, t);
        });
        await masks.prune({ rate: Object.fromEntries(layers.map((l, i) => [l.name, rates[i]!])) });
      }
      await trainStep(masks.maskGradients, masks.apply);
    }
  } finally {
    masks.dispose();
  }
}

/**
 * Deep Compression's first two stages (Han et al. 2016): iterative magnitude pruning with
 * retraining, then k-means weight sharing of the survivors with centroid fine-tuning. The layers'
 * variables end holding the shared weights; the result holds each layer's codebook and indices.
 */
export async function deepCompress(options: DeepCompressOptions): Promise<DeepCompressResult> {
  const { layers, evaluate, trainStep } = options;
  checkLayers(layers);
  checkInt('pruneSteps', options.pruneSteps, 0, Number.MAX_SAFE_INTEGER);
  checkInt('fineTuneSteps', options.fineTuneSteps, 0, Number.MAX_SAFE_INTEGER);
  const dense = await evaluate?.();
  await pruneStage(options);
  const pruned = await evaluate?.();
  const sharing = await WeightSharing.share(layers, {
    bits: options.bits,
    optimizer: options.centroidOptimizer,
    ...(options.init === undefined ? {} : { init: options.init }),
  });
  try {
    const shared = await evaluate?.();
    for (let step = 0; step < options.fineTuneSteps; step++) await trainStep(sharing.fineTune, sharing.apply);
    const fineTuned = await evaluate?.();
    const result = (await sharing.sharedWeights()).map((s) => ({
      ...s,
      kept: s.indices.length / s.mask.length,
      sharingRatio: weightSharingRatio(s.indices.length, s.bits),
    }));
    return {
      layers: result,
      ...(evaluate
        ? { scores: { dense: dense!, pruned: pruned!, shared: shared!, fineTuned: fineTuned! } }
        : {}),
    };
  } finally {
    sharing.dispose();
  }
}
