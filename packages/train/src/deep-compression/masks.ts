import { hanThreshold, maskSparsity, pruneByRate, pruneByThreshold } from '@zeroskip/quant';
import { tf } from '../engine.js';
import { TrainError } from '../errors.js';
import {
  type CompressibleLayer,
  checkLayers,
  gradientOf,
  isNumber,
  type LayerSetting,
  settingFor,
} from './layers.js';

/**
 * How to choose the weights to prune in each layer: a fraction of the layer (`rate`), or Han et
 * al.'s threshold `quality` × std of the layer's surviving weights.
 */
export type PruneRule = { readonly rate: LayerSetting<number> } | { readonly quality: LayerSetting<number> };

export interface LayerPruning {
  readonly name: string;
  /** Magnitudes below this were pruned in this call. */
  readonly threshold: number;
  /** Fraction of the layer's weights still alive. */
  readonly kept: number;
}

/** `x` where `mask` is set, +0 elsewhere (multiplying would leave −0 for negative entries). */
const keep = (x: tf.Tensor, mask: tf.Tensor) => tf.tidy(() => tf.where(mask, x, tf.zerosLike(x)));

interface Mask {
  readonly layer: CompressibleLayer;
  /** 1 = kept; the source of truth, since a kept weight may pass through 0 while training. */
  bits: Uint8Array;
  /** The same mask as a bool tensor of the weights' shape, to select on the device. */
  tensor: tf.Tensor;
}

/**
 * Pruning masks for retraining (Han et al. 2015): pruned weights get no gradient and are zeroed
 * again after every optimizer step, and a mask only ever loses entries.
 */
export class PruningMasks {
  readonly #masks: Mask[];

  constructor(layers: readonly CompressibleLayer[]) {
    checkLayers(layers);
    this.#masks = layers.map((layer) => ({
      layer,
      bits: new Uint8Array(layer.variable.size).fill(1),
      tensor: tf.keep(tf.ones(layer.variable.shape, 'bool')),
    }));
  }

  /**
   * Prunes each layer by `rule` from its current magnitudes, intersected with its mask so far, and
   * zeroes the pruned weights. A rate counts the layer's already-pruned weights (they are the zeros).
   */
  async prune(rule: PruneRule): Promise<LayerPruning[]> {
    // every layer is pruned on the host before any mask changes, so that a bad setting changes nothing
    const next: { bits: Uint8Array; threshold: number }[] = [];
    for (const m of this.#masks) {
      // a copy: the CPU backend hands out its own storage
      const w = Float32Array.from(await m.layer.variable.data());
      for (let i = 0; i < w.length; i++) if (m.bits[i] === 0) w[i] = 0;
      const pruned =
        'rate' in rule
          ? pruneByRate(w, settingFor(rule.rate, m.layer, isNumber, 'pruning rate'))
          : // the std of the survivors: the zeros of earlier stages would shrink it stage after stage
            pruneByThreshold(
              w,
              hanThreshold(
                w.filter((_, i) => m.bits[i] === 1),
                settingFor(rule.quality, m.layer, isNumber, 'pruning quality'),
              ),
            );
      next.push({ bits: m.bits.map((b, i) => b & pruned.mask[i]!), threshold: pruned.threshold });
    }
    const result = this.#masks.map((m, i) => {
      const { bits, threshold } = next[i]!;
      m.tensor.dispose();
      m.bits = bits;
      m.tensor = tf.keep(tf.tensor(bits, m.layer.variable.shape, 'bool'));
      return { name: m.layer.name, threshold, kept: 1 - maskSparsity(bits) };
    });
    this.apply();
    return result;
  }

  /** A copy of the layer's mask, 1 = kept, in the weights' row-major order. */
  mask(name: string): Uint8Array {
    const m = this.#masks.find((x) => x.layer.name === name);
    if (!m) throw new TrainError('invalid-argument', `no layer named '${name}' is masked here.`);
    return m.bits.slice();
  }

  /**
   * Returns `gradients` with the pruned entries of every masked layer set to 0 (new tensors for
   * those layers; the others pass through). Run it before the optimizer step.
   */
  readonly maskGradients = (gradients: tf.NamedTensorMap): tf.NamedTensorMap => {
    const out = { ...gradients };
    for (const m of this.#masks) out[m.layer.variable.name] = keep(gradientOf(gradients, m.layer), m.tensor);
    return out;
  };

  /** Zeroes pruned weights again: run it after every optimizer step, whose moments can move them. */
  readonly apply = (): void => {
    tf.tidy(() => {
      for (const m of this.#masks) m.layer.variable.assign(keep(m.layer.variable, m.tensor));
    });
  };

  dispose(): void {
    for (const m of this.#masks) m.tensor.dispose();
  }
}
