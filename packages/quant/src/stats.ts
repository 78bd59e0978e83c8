/** Mean of |w|. */
export function meanAbs(w: ArrayLike<number>, start = 0, end = w.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s += Math.abs(w[i]!);
  return end > start ? s / (end - start) : 0;
}

/** Population standard deviation. */
export function std(w: ArrayLike<number>): number {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < w.length; i++) {
    s += w[i]!;
    s2 += w[i]! * w[i]!;
  }
  const n = Math.max(w.length, 1);
  return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
}

/** ‖a − b‖ / ‖a‖ (0 when a is zero). */
export function relativeL2Error(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += a[i]! ** 2;
  }
  return den === 0 ? 0 : Math.sqrt(num / den);
}

/** xorshift32 in [0, 1): the seeded generator behind every stochastic quantizer here. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}
