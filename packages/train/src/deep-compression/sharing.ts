import { type KMeansInit, kmeansShare } from '@zeroskip/quant';
import { tf } from '../engine.js';
import {
  type CompressibleLayer,
  checkLayers,
  gradientOf,
  isNumber,
  type LayerKind,
  type LayerSetting,
  settingFor,
} from './layers.js';

export interface SharingOptions {
  /** k = 2^bits shared values per layer (1..8; Deep Compression used 8 for conv, 5 for fc). */
  readonly bits: LayerSetting<number>;
  /** Moves the centroids during fine-tuning, e.g. `tf.train.sgd(lr)` or `tf.train.adam(lr)`. */
  readonly optimizer: tf.Optimizer;
  /** Centroid initialisation; linear (the default) is the one the paper found best. */
  readonly init?: KMeansInit;
  readonly maxIterations?: number;
}

/** One layer's shared weights, as the runtime's sparse encoding stores them: a codebook and indices. */
export interface SharedLayer {
  readonly name: string;
  readonly kind: LayerKind;
  readonly shape: readonly number[];
  readonly bits: number;
  /** The 2^bits shared values. */
  readonly centroids: Float32Array;
  /** The centroid of each surviving weight, in row-major order of the survivors. */
  readonly indices: Uint8Array;
  /** 1 where a weight survives, row-major; the others are 0. */
  readonly mask: Uint8Array;
}

interface Clustered {
  readonly layer: CompressibleLayer;
  readonly bits: number;
  /** k-means' cluster of each weight, −1 where pruned (zero). */
  readonly indices: Int32Array;
  readonly centroids: tf.Variable;
  /** The same clusters on the device, pruned weights in an extra segment k that is dropped. */
  readonly segments: tf.Tensor1D;
  /**
   * Row j lists the flat positions of cluster j's weights, padded with the weight count (a zero
   * appended to the gradient), so that a gather and a row sum add each cluster's gradients. Not
   * `unsortedSegmentSum`: TF.js's WebGPU kernel adds floats with compare-and-swap loops, which
   * serialise on k addresses and took minutes per epoch.
   */
  readonly members: tf.Tensor2D;
}

/** The `members` table of clusters `indices` (−1 where pruned) with k clusters. */
function membersTable(indices: Int32Array, k: number): tf.Tensor2D {
  const lists = Array.from({ length: k }, (): number[] => []);
  indices.forEach((j, i) => {
    if (j >= 0) lists[j]!.push(i);
  });
  const width = Math.max(1, ...lists.map((l) => l.length));
  const table = new Int32Array(k * width).fill(indices.length);
  lists.forEach((l, j) => {
    table.set(l, j * width);
  });
  return tf.tensor2d(table, [k, width], 'int32');
}

/**
 * Deep Compression's weight sharing (§3.1–3.3): each layer's surviving weights are clustered into
 * 2^bits centroids once, then training moves only the centroids, each by the sum of the gradients
 * of its weights, and every weight is rewritten as its centroid.
 */
export class WeightSharing {
  readonly #clusters: readonly Clustered[];
  readonly #optimizer: tf.Optimizer;

  private constructor(clusters: readonly Clustered[], optimizer: tf.Optimizer) {
    this.#clusters = clusters;
    this.#optimizer = optimizer;
  }

  /** Clusters every layer's non-zero weights (zeros are pruned and stay 0) and writes the shared weights. */
  static async share(layers: readonly CompressibleLayer[], options: SharingOptions): Promise<WeightSharing> {
    checkLayers(layers);
    // cluster every layer on the host first, so that a bad setting throws before tensors exist
    const clustered = [];
    for (const layer of layers) {
      const bits = settingFor(options.bits, layer, isNumber, 'bit width');
      const s = kmeansShare(Float32Array.from(await layer.variable.data()), {
        bits,
        init: options.init ?? 'linear',
        ...(options.maxIterations === undefined ? {} : { maxIterations: options.maxIterations }),
      });
      clustered.push({ layer, bits, s });
    }
    const clusters = clustered.map(({ layer, bits, s }) => ({
      layer,
      bits,
      indices: s.indices,
      centroids: tf.tidy(() => tf.variable(tf.tensor1d(s.codebook, 'float32'))),
      segments: tf.keep(
        tf.tensor1d(
          s.indices.map((j) => (j < 0 ? s.codebook.length : j)),
          'int32',
        ),
      ),
      members: tf.keep(membersTable(s.indices, s.codebook.length)),
    }));
    const sharing = new WeightSharing(clusters, options.optimizer);
    sharing.apply();
    return sharing;
  }

  /** ∂L/∂c_k = Σ_{i in cluster k} ∂L/∂w_i for every layer, keyed by layer name (new tensors). */
  centroidGradients(gradients: tf.NamedTensorMap): tf.NamedTensorMap {
    return tf.tidy(() =>
      Object.fromEntries(
        this.#clusters.map((c) => {
          const g = tf.concat([tf.reshape(gradientOf(gradients, c.layer), [-1]), tf.zeros([1])]);
          return [c.layer.name, tf.sum(tf.gather(g, c.members), 1)];
        }),
      ),
    );
  }

  /**
   * The gradient hook of fine-tuning: steps the centroids by `gradients` and returns them with the
   * shared layers' entries zeroed (new tensors), since those weights move only through their centroids.
   */
  readonly fineTune = (gradients: tf.NamedTensorMap): tf.NamedTensorMap => {
    const centroidGrads = this.centroidGradients(gradients);
    this.#optimizer.applyGradients(
      this.#clusters.map((c) => ({ name: c.centroids.name, tensor: centroidGrads[c.layer.name]! })),
    );
    tf.dispose(centroidGrads);
    const out = { ...gradients };
    for (const c of this.#clusters) out[c.layer.variable.name] = tf.zerosLike(c.layer.variable);
    return out;
  };

  /** Rewrites every weight as its centroid (pruned ones as 0): the weight hook of fine-tuning. */
  readonly apply = (): void => {
    tf.tidy(() => {
      for (const c of this.#clusters) {
        const table = tf.concat([c.centroids, tf.zeros([1])]);
        c.layer.variable.assign(tf.reshape(tf.gather(table, c.segments), c.layer.variable.shape));
      }
    });
  };

  /** The codebook and indices of every layer, for export. */
  async sharedWeights(): Promise<SharedLayer[]> {
    return Promise.all(
      this.#clusters.map(async (c) => ({
        name: c.layer.name,
        kind: c.layer.kind,
        shape: [...c.layer.variable.shape],
        bits: c.bits,
        centroids: Float32Array.from(await c.centroids.data()),
        indices: Uint8Array.from(c.indices.filter((j) => j >= 0)),
        mask: Uint8Array.from(c.indices, (j) => (j >= 0 ? 1 : 0)),
      })),
    );
  }

  /** Frees the centroids and indices; the optimizer's state belongs to whoever made it. */
  dispose(): void {
    for (const c of this.#clusters) tf.dispose([c.centroids, c.segments, c.members]);
  }
}
