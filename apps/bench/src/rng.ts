/** xorshift32: a small seeded generator so that every run draws the same data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Standard normal samples (Box–Muller). */
export function gaussian(n: number, seed: number): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u() || 1e-12));
    const t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/** Zeroes all but the largest-magnitude `1 − sparsity` fraction of `w` (in place). */
export function pruneByMagnitude(w: Float32Array, sparsity: number): Float32Array {
  const mags = Float32Array.from(w, Math.abs).sort();
  const cut = mags[Math.min(mags.length - 1, Math.floor(sparsity * mags.length))] ?? 0;
  for (let i = 0; i < w.length; i++) if (Math.abs(w[i]!) < cut) w[i] = 0;
  return w;
}
