import { checkFinite } from './errors.js';
import { meanAbs } from './stats.js';

export interface TernaryResult {
  /** Codes in {−1, 0, 1} (or {−2..2} for five levels). */
  readonly codes: Int8Array;
  readonly alpha: number;
  /** Magnitudes above `delta` are non-zero; for five levels the two thresholds are in `thresholds`. */
  readonly delta: number;
  /** α · codes. */
  readonly weights: Float32Array;
}

/** TWN's closed-form threshold Δ = 0.7 · E|W|. */
export function twnThreshold(w: Float32Array): number {
  checkFinite('weights', w);
  return 0.7 * meanAbs(w);
}

/** TWN's objective for a threshold: (Σ_{|W|>Δ} |W|)² / |{|W| > Δ}|, 0 when nothing is above Δ. */
export function twnScore(w: Float32Array, delta: number): number {
  let s = 0;
  let n = 0;
  for (const v of w) {
    if (Math.abs(v) > delta) {
      s += Math.abs(v);
      n++;
    }
  }
  return n === 0 ? 0 : (s * s) / n;
}

/** Ternarizes with threshold Δ (closed form by default) and α = mean of |W| over |W| > Δ. */
export function ternarize(w: Float32Array, delta = twnThreshold(w)): TernaryResult {
  checkFinite('weights', w);
  let s = 0;
  let n = 0;
  const codes = new Int8Array(w.length);
  w.forEach((v, i) => {
    if (Math.abs(v) > delta) {
      codes[i] = v > 0 ? 1 : -1;
      s += Math.abs(v);
      n++;
    }
  });
  const alpha = n === 0 ? 0 : s / n;
  return { codes, alpha, delta, weights: Float32Array.from(codes, (c) => c * alpha) };
}

/**
 * The exact Δ* maximising TWN's objective: sort |W| descending; keeping the top j gives
 * (Σ_{i≤j} a_i)² / j, evaluated for every j at which the sorted magnitudes change, in O(n log n).
 * Δ* is the midpoint between the last kept and the first dropped magnitude.
 */
export function twnExactThreshold(w: Float32Array): number {
  checkFinite('weights', w);
  const a = Float64Array.from(w, Math.abs).sort().reverse();
  let best = 0;
  let bestJ = 0;
  let sum = 0;
  for (let j = 1; j <= a.length; j++) {
    sum += a[j - 1]!;
    if (j < a.length && a[j] === a[j - 1]) continue; // a threshold cannot split equal magnitudes
    const score = (sum * sum) / j;
    if (score > best) {
      best = score;
      bestJ = j;
    }
  }
  if (bestJ === 0) return 0;
  return (a[bestJ - 1]! + (a[bestJ] ?? 0)) / 2;
}

/** `ternarize` with the exact Δ*. */
export function ternarizeExact(w: Float32Array): TernaryResult {
  return ternarize(w, twnExactThreshold(w));
}

export interface FiveLevelResult extends TernaryResult {
  /** |W| ≥ thresholds[0] → ±1·α, |W| ≥ thresholds[1] → ±2·α: the midpoints α/2 and 3α/2. */
  readonly thresholds: readonly [number, number];
  /** ‖W − α·T‖². */
  readonly error: number;
}

/**
 * The exact minimiser of ‖W − α·T‖² over α > 0 and T ∈ {−2, −1, 0, 1, 2}ⁿ (README: derivation).
 * For a fixed α each |W_i| takes the nearest level, so the error E(α) is piecewise quadratic with
 * breakpoints at α = 2|W_i| and α = 2|W_i|/3; on each piece the level counts are fixed and the best α is
 * (A₁ + 2A₂)/(n₁ + 4n₂) clipped to the piece. Scanning all 2n pieces with prefix sums is exact.
 */
export function fiveLevel(w: Float32Array): FiveLevelResult {
  checkFinite('weights', w);
  const a = Float64Array.from(w, Math.abs).sort();
  const n = a.length;
  const pre = new Float64Array(n + 1);
  let total2 = 0;
  for (let i = 0; i < n; i++) {
    pre[i + 1] = pre[i]! + a[i]!;
    total2 += a[i]! * a[i]!;
  }
  const atLeast = (x: number) => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const breaks = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    breaks[2 * i] = 2 * a[i]!;
    breaks[2 * i + 1] = (2 * a[i]!) / 3;
  }
  breaks.sort();
  let bestAlpha = 0;
  let bestError = total2;
  for (let p = 0; p <= breaks.length; p++) {
    const lo = p === 0 ? 0 : breaks[p - 1]!;
    const hi = p === breaks.length ? Number.POSITIVE_INFINITY : breaks[p]!;
    if (!(hi > lo)) continue;
    const probe = Number.isFinite(hi) ? (lo + hi) / 2 : lo + 1;
    const one = atLeast(probe / 2);
    const two = atLeast((3 * probe) / 2);
    const n1 = two - one;
    const n2 = n - two;
    const num = pre[two]! - pre[one]! + 2 * (pre[n]! - pre[two]!);
    const den = n1 + 4 * n2;
    if (den === 0) continue;
    const alpha = Math.min(hi, Math.max(lo, num / den));
    const error = total2 - 2 * alpha * num + alpha * alpha * den;
    if (error < bestError) {
      bestError = error;
      bestAlpha = alpha;
    }
  }
  const t1 = bestAlpha / 2;
  const t2 = (3 * bestAlpha) / 2;
  const codes = Int8Array.from(w, (v) => {
    const m = Math.abs(v);
    const level = bestAlpha === 0 || m < t1 ? 0 : m < t2 ? 1 : 2;
    return v < 0 ? -level : level;
  });
  const weights = Float32Array.from(codes, (c) => c * bestAlpha);
  let error = 0;
  for (let i = 0; i < n; i++) error += (w[i]! - weights[i]!) ** 2;
  return { codes, alpha: bestAlpha, delta: t1, thresholds: [t1, t2], weights, error };
}
