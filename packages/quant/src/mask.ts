import { QuantError } from './errors.js';

function checkSameLength(a: ArrayLike<number>, mask: Uint8Array, what: string): void {
  if (a.length !== mask.length) {
    throw new QuantError(
      'shape-mismatch',
      `${what} has ${a.length} values but the mask has ${mask.length}; they must match.`,
    );
  }
}

/** Zeroes masked-out weights in place (mask 1 = kept) and returns them: run it after every optimizer step. */
export function applyMask(weights: Float32Array, mask: Uint8Array): Float32Array {
  checkSameLength(weights, mask, 'weights');
  for (let i = 0; i < weights.length; i++) if (mask[i] === 0) weights[i] = 0;
  return weights;
}

/**
 * Zeroes the gradient of masked-out weights in place, so that momentum and weight decay cannot
 * revive a pruned weight (the pitfall of pruning by zeroing weights only once).
 */
export function maskGradient(gradient: Float32Array, mask: Uint8Array): Float32Array {
  checkSameLength(gradient, mask, 'gradient');
  for (let i = 0; i < gradient.length; i++) if (mask[i] === 0) gradient[i] = 0;
  return gradient;
}

/** Fraction of zeros in the mask. */
export function maskSparsity(mask: Uint8Array): number {
  let zeros = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] === 0) zeros++;
  return mask.length === 0 ? 0 : zeros / mask.length;
}
