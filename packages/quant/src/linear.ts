import { checkFinite, checkInt, QuantError } from './errors.js';
import { clamp, roundHalfEven } from './round.js';

export interface LinearQuantized {
  /** Integer codes: signed for symmetric, unsigned [0, 2^bits − 1] for affine. */
  readonly q: Int32Array;
  /** One scale (per tensor) or one per channel of axis 0. */
  readonly scale: Float32Array;
  readonly zeroPoint: Int32Array;
  readonly bits: number;
}

export interface LinearOptions {
  /** Per-channel along axis 0 with this many channels (each a contiguous slice); per tensor when absent. */
  readonly channels?: number;
}

function channelSlices(w: Float32Array, channels: number | undefined): number {
  const c = channels ?? 1;
  checkInt('channels', c, 1, Math.max(1, w.length));
  if (w.length % c !== 0) {
    throw new QuantError('shape-mismatch', `${w.length} values do not split into ${c} equal channels.`);
  }
  return c;
}

/**
 * Symmetric k-bit: scale = max|w| / (2^(k−1) − 1), q = clamp(round(w / scale)) in the restricted range
 * ±(2^(k−1) − 1) so that zero is exact and the range is symmetric.
 */
export function quantizeSymmetric(
  w: Float32Array,
  bits: number,
  options: LinearOptions = {},
): LinearQuantized {
  checkFinite('weights', w);
  checkInt('bits', bits, 2, 16);
  const c = channelSlices(w, options.channels);
  const per = w.length / c;
  const qmax = 2 ** (bits - 1) - 1;
  const scale = new Float32Array(c);
  const q = new Int32Array(w.length);
  for (let ch = 0; ch < c; ch++) {
    let max = 0;
    for (let i = ch * per; i < (ch + 1) * per; i++) max = Math.max(max, Math.abs(w[i]!));
    const s = max === 0 ? 1 : max / qmax;
    scale[ch] = s;
    for (let i = ch * per; i < (ch + 1) * per; i++)
      q[i] = clamp(roundHalfEven(w[i]! / scale[ch]!), -qmax, qmax);
  }
  return { q, scale, zeroPoint: new Int32Array(c), bits };
}

/**
 * Affine (asymmetric) k-bit: the range [min(w, 0), max(w, 0)] maps onto [0, 2^k − 1] with
 * scale = (max − min) / (2^k − 1) and an integer zero point, so 0 is exactly representable.
 */
export function quantizeAffine(w: Float32Array, bits: number, options: LinearOptions = {}): LinearQuantized {
  checkFinite('weights', w);
  checkInt('bits', bits, 1, 16);
  const c = channelSlices(w, options.channels);
  const per = w.length / c;
  const qmax = 2 ** bits - 1;
  const scale = new Float32Array(c);
  const zeroPoint = new Int32Array(c);
  const q = new Int32Array(w.length);
  for (let ch = 0; ch < c; ch++) {
    let lo = 0;
    let hi = 0;
    for (let i = ch * per; i < (ch + 1) * per; i++) {
      lo = Math.min(lo, w[i]!);
      hi = Math.max(hi, w[i]!);
    }
    const s = hi === lo ? 1 : (hi - lo) / qmax;
    scale[ch] = s;
    const zp = clamp(roundHalfEven(-lo / scale[ch]!), 0, qmax);
    zeroPoint[ch] = zp;
    for (let i = ch * per; i < (ch + 1) * per; i++)
      q[i] = clamp(roundHalfEven(w[i]! / scale[ch]!) + zp, 0, qmax);
  }
  return { q, scale, zeroPoint, bits };
}

/** scale · (q − zeroPoint). */
export function dequantize(lq: LinearQuantized): Float32Array {
  const per = lq.q.length / lq.scale.length;
  return Float32Array.from(lq.q, (v, i) => {
    const ch = Math.floor(i / per);
    return lq.scale[ch]! * (v - lq.zeroPoint[ch]!);
  });
}

/**
 * Signed fixed point Qm.n (m integer bits, n fraction bits, plus sign): round(x·2^n) saturated to
 * [−2^(m+n), 2^(m+n) − 1].
 */
export function toFixedPoint(x: Float32Array, m: number, n: number): Int32Array {
  checkFinite('input', x);
  checkInt('integer bits', m, 0, 30);
  checkInt('fraction bits', n, 0, 30 - m);
  const lim = 2 ** (m + n);
  return Int32Array.from(x, (v) => clamp(roundHalfEven(v * 2 ** n), -lim, lim - 1));
}

export function fromFixedPoint(q: Int32Array, n: number): Float32Array {
  checkInt('fraction bits', n, 0, 30);
  return Float32Array.from(q, (v) => v / 2 ** n);
}
