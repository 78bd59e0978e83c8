import { seededRandom, twnExactThreshold } from '@zeroskip/quant';
import { tf } from './engine.js';
import { checkInt } from './errors.js';

// Every forward formula here is the one the exported graph computes (QuantConv's activation and
// weight codes), so a trained model and its graph agree bit for bit on the quantized values.

type Gradient = (dy: tf.Tensor, x: tf.Tensor) => tf.Tensor;

/** A unary op whose forward is `forward` and whose backward is `gradient` (a straight-through estimator). */
function straightThrough(
  forward: (x: tf.Tensor) => tf.Tensor,
  gradient: Gradient,
): (x: tf.Tensor) => tf.Tensor {
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return { value: forward(x), gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => gradient(dy, saved!) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (x) => op(x);
}

const identity: Gradient = (dy) => dy;
/** BNN's STE: sign's gradient is htanh's, so it passes where |x| ≤ 1. */
const htanhGradient: Gradient = (dy, x) => tf.mul(dy, tf.cast(tf.lessEqual(tf.abs(x), 1), 'float32'));

/** −1 where x < 0, else +1 (sign(0) = +1, as QuantConv's "sign"). */
function signPlus(x: tf.Tensor): tf.Tensor {
  return tf.sub(tf.mul(tf.cast(tf.greaterEqual(x, 0), 'float32'), 2), 1);
}

/** sign(x) with sign(0) = +1; gradient g·1{|x| ≤ 1}. */
export const binarize = straightThrough(signPlus, htanhGradient);

/** sign(x) with an identity gradient (DoReFa's 1-bit weights). */
const signIdentity = straightThrough(signPlus, identity);

/** x with no gradient (TensorFlow's stop_gradient). */
const constantGradient = straightThrough(
  (x) => tf.clone(x),
  (dy) => tf.zerosLike(dy),
);

/** floor(x + ½): round half up, as QuantConv's "bits" codes (tf.round rounds half to even); identity gradient. */
const roundHalfUp = straightThrough((x) => tf.floor(tf.add(x, 0.5)), identity);

function levels(k: number): number {
  checkInt('bits', k, 1, 16);
  return 2 ** k - 1;
}

/** DoReFa's quantize_k(x) = round(x·(2^k − 1)) / (2^k − 1), x in [0, 1]; straight-through gradient. */
export function quantizeK(x: tf.Tensor, k: number): tf.Tensor {
  const l = levels(k);
  return tf.div(roundHalfUp(tf.mul(x, l)), l);
}

/** DoReFa activations: quantize_k(clip(x, 0, 1)); the gradient passes inside [0, 1]. */
export function dorefaActivations(x: tf.Tensor, k: number): tf.Tensor {
  return quantizeK(tf.clipByValue(x, 0, 1), k);
}

/** Axes of a kernel ([kh, kw, in, out] or [in, out]) that one output filter spans: all but the last. */
function filterAxes(w: tf.Tensor): number[] {
  return Array.from({ length: w.rank - 1 }, (_, i) => i);
}

/** XNOR-Net's α: mean |W| per output filter, shaped to broadcast against W. */
export function xnorAlpha(w: tf.Tensor): tf.Tensor {
  return tf.mean(tf.abs(w), filterAxes(w), true);
}

/** XNOR-Net weights α·sign(W), α per output filter; α's own gradient flows, sign's is BNN's STE. */
export function xnorWeights(w: tf.Tensor): tf.Tensor {
  return tf.mul(xnorAlpha(w), binarize(w));
}

/**
 * XNOR-Net's input scale map K: mean |x| over channels, box-filtered by the kh×kw kernel (zero
 * padding counts as 0, stride 1). Input NHWC, output [N, Ho, Wo, 1].
 */
export function xnorInputScale(
  x: tf.Tensor4D,
  kh: number,
  kw: number,
  padding: 'same' | 'valid',
): tf.Tensor4D {
  const a = tf.mean(tf.abs(x), 3, true) as tf.Tensor4D;
  return tf.conv2d(a, tf.fill([kh, kw, 1, 1], 1 / (kh * kw)) as tf.Tensor4D, 1, padding);
}

export type TernaryThreshold = 'twn' | 'exact';

/** TWN's Δ: 0.7·E|W| (closed form) or the exact maximiser of TWN's objective from @zeroskip/quant. */
export function ternaryThreshold(w: tf.Tensor, threshold: TernaryThreshold = 'twn'): tf.Tensor {
  return threshold === 'exact'
    ? tf.scalar(twnExactThreshold(w.dataSync() as Float32Array))
    : tf.mul(tf.mean(tf.abs(w)), 0.7);
}

/** Ternary codes t ∈ {−1, 0, +1} and α = mean |W| over |W| > Δ (0 when nothing is above Δ). */
export function ternaryCodes(
  w: tf.Tensor,
  threshold: TernaryThreshold = 'twn',
): { codes: tf.Tensor; alpha: tf.Tensor } {
  const mask = tf.cast(tf.greater(tf.abs(w), ternaryThreshold(w, threshold)), 'float32');
  const kept = tf.sum(mask);
  const alpha = tf.where(
    tf.greater(kept, 0),
    tf.div(tf.sum(tf.mul(tf.abs(w), mask)), tf.maximum(kept, 1)),
    0,
  );
  return { codes: tf.mul(signPlus(w), mask), alpha };
}

/** TWN weights α·t with the identity straight-through gradient (TWN updates the float weights with it). */
export function ternaryWeights(w: tf.Tensor, threshold: TernaryThreshold = 'twn'): tf.Tensor {
  return straightThrough((v) => {
    const { codes, alpha } = ternaryCodes(v, threshold);
    return tf.mul(codes, alpha);
  }, identity)(w);
}

/**
 * DoReFa k-bit weights normalized to [−1, 1]: 2·quantize_k(tanh W / (2·max|tanh W|) + ½) − 1, on the
 * grid 2q/(2^k − 1) − 1 that QuantConv's "bits" weights hold. k > 1.
 */
export function dorefaGridWeights(w: tf.Tensor, k: number): tf.Tensor {
  const t = tf.tanh(w);
  // max|tanh W| = 0 only for an all-zero W; every weight then maps to quantize_k(½).
  const max = tf.maximum(tf.max(tf.abs(t)), 1e-30);
  return tf.sub(tf.mul(quantizeK(tf.add(tf.div(t, tf.mul(max, 2)), 0.5), k), 2), 1);
}

/** DoReFa's 1-bit weights E|W|·sign(W), E per layer and held constant in the gradient, as in the paper's code. */
export function dorefaBinaryScale(w: tf.Tensor): tf.Tensor {
  return constantGradient(tf.mean(tf.abs(w)));
}

/** DoReFa k-bit weights (k = 1: E|W|·sign(W); k > 1: the normalized grid). */
export function dorefaWeights(w: tf.Tensor, k: number): tf.Tensor {
  if (k > 1) return dorefaGridWeights(w, k);
  // sign(W/E)·E with sign's gradient the identity, so the whole quantizer passes gradients unchanged.
  const e = tf.maximum(dorefaBinaryScale(w), 1e-30);
  return tf.mul(signIdentity(tf.div(w, e)), e);
}

/**
 * DoReFa's gradient quantizer as an op: identity forward; backward
 * 2·max|dr|·[quantize_k(dr / (2·max|dr|) + ½ + N(k)) − ½], N(k) = U(−½, ½)/(2^k − 1) per element,
 * drawn in element order from @zeroskip/quant's seeded generator so that runs repeat.
 */
export function quantizeGradient(x: tf.Tensor, k: number, seed: number): tf.Tensor {
  const l = levels(k);
  return straightThrough(
    (v) => tf.clone(v),
    (dy) => {
      const rand = seededRandom(seed);
      const noise = tf.tensor(
        Float32Array.from({ length: dy.size }, () => (rand() - 0.5) / l),
        dy.shape,
      );
      const max = tf.max(tf.abs(dy));
      const scaled = tf.add(tf.add(tf.div(dy, tf.maximum(tf.mul(max, 2), 1e-30)), 0.5), noise);
      const q = tf.div(tf.floor(tf.add(tf.mul(scaled, l), 0.5)), l);
      return tf.mul(tf.mul(max, 2), tf.sub(q, 0.5));
    },
  )(x);
}
