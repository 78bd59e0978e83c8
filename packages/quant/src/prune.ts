import { checkFinite, checkRange, QuantError } from './errors.js';
import { maskSparsity } from './mask.js';
import { std } from './stats.js';

export interface PruneResult {
  /** A pruned copy of the weights. */
  readonly weights: Float32Array;
  /** 1 = kept, 0 = pruned. The mask, not the zeros, is the source of truth during retraining. */
  readonly mask: Uint8Array;
  /** Magnitudes below this were pruned (ties at it broken by position to hit an exact count). */
  readonly threshold: number;
  readonly sparsity: number;
}

function result(w: Float32Array, mask: Uint8Array, threshold: number): PruneResult {
  const weights = w.slice();
  for (let i = 0; i < weights.length; i++) if (mask[i] === 0) weights[i] = 0;
  return { weights, mask, threshold, sparsity: maskSparsity(mask) };
}

/** Keeps |w| ≥ threshold (Han et al.'s rule). */
export function pruneByThreshold(w: Float32Array, threshold: number): PruneResult {
  checkFinite('weights', w);
  checkRange('threshold', threshold, 0, Number.MAX_VALUE);
  const mask = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) mask[i] = Math.abs(w[i]!) >= threshold ? 1 : 0;
  return result(w, mask, threshold);
}

/** Han et al.'s threshold: quality × std(W). */
export function hanThreshold(w: Float32Array, quality: number): number {
  checkFinite('weights', w);
  checkRange('quality', quality, 0, Number.MAX_VALUE);
  return quality * std(w);
}

/**
 * Marks exactly `count` smallest-magnitude entries across `tensors` as pruned (ties broken by tensor,
 * then position) and returns the masks and the magnitude threshold.
 */
function smallestMasks(
  tensors: readonly Float32Array[],
  count: number,
): { masks: Uint8Array[]; threshold: number } {
  const total = tensors.reduce((n, t) => n + t.length, 0);
  const mags = new Float32Array(total);
  let o = 0;
  for (const t of tensors) for (let i = 0; i < t.length; i++) mags[o++] = Math.abs(t[i]!);
  const masks = tensors.map((t) => new Uint8Array(t.length).fill(1));
  if (count === 0) return { masks, threshold: 0 };
  mags.sort();
  const threshold = mags[count - 1]!;
  let below = 0;
  for (let i = 0; i < total && mags[i]! < threshold; i++) below++;
  let ties = count - below;
  tensors.forEach((t, ti) => {
    const m = masks[ti]!;
    for (let i = 0; i < t.length; i++) {
      const a = Math.abs(t[i]!);
      if (a < threshold) m[i] = 0;
      else if (a === threshold && ties > 0) {
        m[i] = 0;
        ties--;
      }
    }
  });
  return { masks, threshold };
}

/** Prunes exactly round(rate × n) weights of smallest magnitude. */
export function pruneByRate(w: Float32Array, rate: number): PruneResult {
  return pruneGlobal([w], rate)[0]!;
}

/** One threshold across layers: exactly round(rate × all weights) smallest magnitudes are pruned. */
export function pruneGlobal(layers: readonly Float32Array[], rate: number): PruneResult[] {
  checkRange('pruning rate', rate, 0, 1);
  for (const [i, w] of layers.entries()) checkFinite(`layer ${i} weights`, w);
  const total = layers.reduce((n, t) => n + t.length, 0);
  const { masks, threshold } = smallestMasks(layers, Math.round(rate * total));
  return layers.map((w, i) => result(w, masks[i]!, threshold));
}

/** Per-layer rates, e.g. Deep Compression's table; `rates[i]` is the pruned fraction of layer i. */
export function pruneLayers(layers: readonly Float32Array[], rates: readonly number[]): PruneResult[] {
  if (rates.length !== layers.length) {
    throw new QuantError(
      'shape-mismatch',
      `${layers.length} layers but ${rates.length} pruning rates; give one rate per layer.`,
    );
  }
  return layers.map((w, i) => pruneByRate(w, rates[i]!));
}
