import * as quant from '@zeroskip/quant';
import { describe, expect, it } from 'vitest';
import { tf } from './engine.js';
import {
  binarize,
  dorefaActivations,
  dorefaWeights,
  quantizeGradient,
  ternaryCodes,
  ternaryWeights,
  xnorInputScale,
  xnorWeights,
} from './quantizers.js';
import { finiteDifferences, gradient, uniform, values } from './test-util.js';

const SEEDS = [1, 2, 3];

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, 6);
}

/** TF.js layout [kh, kw, in, out] → quant's [out, in, kh, kw]. */
function toOihw(w: Float32Array, shape: [number, number, number, number]): Float32Array {
  return values(() => tf.transpose(tf.tensor(w, shape), [3, 2, 0, 1]));
}

describe.each(SEEDS)('forward values against @zeroskip/quant (seed %i)', (seed) => {
  const x = uniform(600, seed, -2, 2);
  // exact zeros and ties are where sign and rounding conventions differ
  x[0] = 0;
  x[1] = 3 / 14;

  it('binarize is sign with sign(0) = +1', () => {
    expect(values(() => binarize(tf.tensor(x)))).toEqual(quant.binarizeSign(x));
  });

  it('XNOR weights: α per output filter times sign', () => {
    const shape: [number, number, number, number] = [3, 3, 4, 5];
    const w = uniform(3 * 3 * 4 * 5, seed);
    const ours = toOihw(
      values(() => xnorWeights(tf.tensor(w, shape))),
      shape,
    );
    const ref = quant.binarizeXnorWeights(toOihw(w, shape), [5, 4, 3, 3]).weights;
    for (let i = 0; i < ref.length; i++) expect(ours[i]).toBeCloseTo(ref[i]!, 6);
  });

  it.each(['twn', 'exact'] as const)('TWN ternarization with the %s threshold', (threshold) => {
    const ours = values(() => ternaryWeights(tf.tensor(x), threshold));
    const ref = threshold === 'exact' ? quant.ternarizeExact(x) : quant.ternarize(x);
    for (let i = 0; i < x.length; i++) expect(ours[i]).toBeCloseTo(ref.weights[i]!, 5);
  });

  it.each([1, 2, 3, 4])('DoReFa %i-bit weights and activations', (k) => {
    const w = values(() => dorefaWeights(tf.tensor(x), k));
    const refW = quant.dorefaWeights(x, k);
    for (let i = 0; i < x.length; i++) expect(w[i]).toBeCloseTo(refW[i]!, 5);
    const a = values(() => dorefaActivations(tf.tensor(x), k));
    expect(a).toEqual(quant.dorefaActivations(x, k));
  });

  it('XNOR input scale map K', () => {
    const nhwc = uniform(2 * 6 * 7 * 3, seed);
    const k = values(() => xnorInputScale(tf.tensor4d(nhwc, [2, 6, 7, 3]), 3, 3, 'same'));
    const nchw = values(() => tf.transpose(tf.tensor4d(nhwc, [2, 6, 7, 3]), [0, 3, 1, 2]));
    const ref = quant.xnorInputScale(nchw, [2, 3, 6, 7], 3, 3, { padding: 1 }).scale;
    for (let i = 0; i < ref.length; i++) expect(k[i]).toBeCloseTo(ref[i]!, 5);
  });

  it('DoReFa gradient quantization matches the reference with the same seed', () => {
    const dy = uniform(600, seed + 10, -0.3, 0.3);
    const ours = gradient((t) => quantizeGradient(t, 4, seed), new Float32Array(600), [600], dy);
    const ref = quant.dorefaGradients(dy, 4, seed);
    const step = (2 * Math.max(...dy.map(Math.abs))) / 15;
    // float32 against float64 may land on either side of a rounding tie: allow one level, rarely
    const off = ours.filter((v, i) => Math.abs(v - ref[i]!) > 1e-5);
    expect(off.length).toBeLessThanOrEqual(3);
    for (let i = 0; i < ref.length; i++)
      expect(Math.abs(ours[i]! - ref[i]!)).toBeLessThanOrEqual(step + 1e-5);
  });
});

describe.each(SEEDS)('gradients (seed %i)', (seed) => {
  const n = 48;
  const x = uniform(n, seed, -1.5, 1.5);
  const dy = uniform(n, seed + 100);

  it("binarize's STE is the htanh surrogate g·1{|x| ≤ 1}", () => {
    const g = gradient(binarize, x, [n], dy);
    expectClose(
      g,
      dy.map((d, i) => (Math.abs(x[i]!) <= 1 ? d : 0)),
    );
  });

  it('XNOR weights: α·STE plus the finite-difference gradient of α(W) with the signs held', () => {
    const shape = [2, 2, 3, 4];
    const w = uniform(48, seed, -1.2, 1.2);
    const g = gradient(xnorWeights, w, shape, dy);
    const per = 12;
    const alpha = (v: ArrayLike<number>, o: number) => {
      let s = 0;
      for (let i = o; i < v.length; i += 4) s += Math.abs(v[i]!);
      return s / per;
    };
    const sign = w.map((v) => (v < 0 ? -1 : 1));
    const smooth = finiteDifferences((v) => {
      let s = 0;
      for (let i = 0; i < v.length; i++) s += dy[i]! * alpha(v, i % 4) * sign[i]!;
      return s;
    }, w);
    for (let i = 0; i < w.length; i++) {
      const ste = Math.abs(w[i]!) <= 1 ? dy[i]! * alpha(w, i % 4) : 0;
      expect(g[i]).toBeCloseTo(ste + smooth[i]!, 3);
    }
  });

  it('TWN and k-bit quantizers pass the gradient straight through', () => {
    expectClose(
      gradient((t) => ternaryWeights(t), x, [n], dy),
      dy,
    );
    expectClose(
      gradient((t) => dorefaWeights(t, 1), x, [n], dy),
      dy,
    );
    const inside = dy.map((d, i) => (x[i]! >= 0 && x[i]! <= 1 ? d : 0));
    expectClose(
      gradient((t) => dorefaActivations(t, 3), x, [n], dy),
      inside,
    );
  });

  it('DoReFa k-bit weights: the tanh normalization differentiates exactly, quantize_k straight through', () => {
    const g = gradient((t) => dorefaWeights(t, 3), x, [n], dy);
    // the surrogate: quantize_k replaced by identity, so w = tanh(W) / max|tanh W|
    const fd = finiteDifferences((v) => {
      const t = Array.from(v, Math.tanh);
      const max = Math.max(...t.map(Math.abs));
      return t.reduce((s, ti, i) => s + dy[i]! * (ti / max), 0);
    }, x);
    for (let i = 0; i < n; i++) expect(g[i]).toBeCloseTo(fd[i]!, 3);
  });

  it('XNOR input scale map: its gradient is the finite-difference one', () => {
    const shape = [1, 4, 4, 3];
    const v = uniform(48, seed, -1, 1);
    const out = uniform(16, seed + 7);
    const g = tf.tidy(() =>
      tf
        .grad((t: tf.Tensor) =>
          tf.sum(tf.mul(xnorInputScale(t as tf.Tensor4D, 3, 3, 'same'), tf.tensor(out, [1, 4, 4, 1]))),
        )(tf.tensor(v, shape))
        .dataSync(),
    );
    const fd = finiteDifferences(
      (p) => {
        const nchw = Float32Array.from({ length: 48 }, (_, i) => p[(i % 16) * 3 + Math.floor(i / 16)]!);
        const k = quant.xnorInputScale(nchw, [1, 3, 4, 4], 3, 3, { padding: 1 }).scale;
        return k.reduce((s, kv, i) => s + kv * out[i]!, 0);
      },
      v,
      1e-3,
    );
    for (let i = 0; i < 48; i++) expect(g[i]).toBeCloseTo(fd[i]!, 2);
  });

  it('ternary codes are in {−1, 0, 1} with α the mean magnitude above Δ', () => {
    const { codes, alpha } = tf.tidy(() => {
      const r = ternaryCodes(tf.tensor(x));
      return { codes: r.codes.dataSync(), alpha: r.alpha.dataSync()[0]! };
    });
    expect(new Set(codes)).toEqual(new Set([-1, 0, 1]));
    expect(alpha).toBeCloseTo(quant.ternarize(x).alpha, 5);
  });
});
