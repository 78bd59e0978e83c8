import type { ConvGeometry } from './geometry.js';
import type { Activation } from './wgsl.js';

// Plain-TypeScript references of every kernel, written for clarity, not speed; the tests compare
// the GPU against them. Tensors are NCHW (activations) and OIHW (weights), f32.

export function applyActivation(v: number, a: Activation): number {
  switch (a) {
    case 'relu':
      return Math.max(v, 0);
    case 'relu6':
      return Math.min(Math.max(v, 0), 6);
    case 'htanh':
      return Math.min(Math.max(v, -1), 1);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-v));
    default:
      return v;
  }
}

/**
 * Visits each output element of a convolution with a function that sums over its in-bounds taps;
 * zero padding means out-of-bounds taps contribute nothing.
 */
export function convReference(
  g: ConvGeometry,
  tap: (n: number, o: number, ci: number, iy: number, ix: number, ky: number, kx: number) => number,
  epilogue: (o: number, acc: number) => number,
): Float32Array {
  const y = new Float32Array(g.n * g.o * g.ho * g.wo);
  for (let n = 0; n < g.n; n++) {
    for (let o = 0; o < g.o; o++) {
      const grp = Math.floor(o / g.og);
      for (let oy = 0; oy < g.ho; oy++) {
        for (let ox = 0; ox < g.wo; ox++) {
          let acc = 0;
          for (let c = 0; c < g.cg; c++) {
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = oy * g.sh - g.pt + ky * g.dh;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = ox * g.sw - g.pl + kx * g.dw;
                if (ix < 0 || ix >= g.w) continue;
                acc += tap(n, o, grp * g.cg + c, iy, ix, ky, kx);
              }
            }
          }
          y[((n * g.o + o) * g.ho + oy) * g.wo + ox] = epilogue(o, acc);
        }
      }
    }
  }
  return y;
}

/** Dense f32 convolution with bias and activation. */
export function conv2dReference(
  g: ConvGeometry,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  activation: Activation = 'none',
): Float32Array {
  return convReference(
    g,
    (n, o, ci, iy, ix, ky, kx) =>
      x[((n * g.c + ci) * g.h + iy) * g.w + ix]! * w[((o * g.cg + (ci % g.cg)) * g.kh + ky) * g.kw + kx]!,
    (o, acc) => applyActivation(acc + (bias?.[o] ?? 0), activation),
  );
}

/** y[b, o] = act(Σ_k x[b, k]·w[o, k] + bias[o]). */
export function fcReference(
  x: Float32Array,
  batch: number,
  w: Float32Array,
  outputs: number,
  bias: Float32Array | undefined,
  activation: Activation = 'none',
): Float32Array {
  const k = w.length / outputs;
  const y = new Float32Array(batch * outputs);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outputs; o++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += x[b * k + i]! * w[o * k + i]!;
      y[b * outputs + o] = applyActivation(acc + (bias?.[o] ?? 0), activation);
    }
  }
  return y;
}
