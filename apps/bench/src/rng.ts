import { seededRandom as rng } from '@zeroskip/quant';

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

/** Laplace(0, 1) samples by the inverse CDF. */
export function laplacian(n: number, seed: number): Float32Array {
  const u = rng(seed);
  return Float32Array.from({ length: n }, () => {
    const v = u() - 0.5;
    return -Math.sign(v) * Math.log(1 - 2 * Math.abs(v) || 1e-12);
  });
}
