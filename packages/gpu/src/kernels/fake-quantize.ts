import { roundHalfEven } from '@zeroskip/quant';
import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import type { Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { UniformStruct } from '../uniforms.js';
import { bindings } from '../wgsl.js';
import { elementwiseWgsl, encodeElementwise } from './elementwise.js';

// ONNX's QuantizeLinear followed by DequantizeLinear with the same scale and zero point, in float32:
// y = (clamp(round(x / s) + z, qmin, qmax) − z)·s = clamp(round(x / s), qmin − z, qmax − z)·s, which
// equals the pair exactly (every integer step is exact in f32) and keeps quantized activations float
// between float convolutions. Rounding is half to even (WGSL's round). The scale and zero point are
// per tensor or per channel: element e reads channel (e / inner) % channels.

/** Where each element finds its scale and zero point, and the integer type's range. */
export interface FakeQuantizeSpec {
  /** Elements that share one channel's scale between channel steps (product of the dims after the axis). */
  readonly inner: number;
  readonly qmin: number;
  readonly qmax: number;
}

const PARAMS = new UniformStruct('FakeQuantizeParams', {
  total: 'u32',
  inner: 'u32',
  channels: 'u32',
  qmin: 'f32',
  qmax: 'f32',
});

const FAKE_QUANTIZE: Program<Record<string, never>> = {
  name: 'fake-quantize',
  wgsl: () =>
    elementwiseWgsl(
      bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['scale', 'array<f32>', 'read'],
          ['zero', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
        ],
        0,
        PARAMS,
      ),
      'p.total',
      `let c = (e / p.inner) % p.channels;
  let s = scale[c];
  let z = zero[c];
  y[e] = clamp(round(x[e] / s), p.qmin - z, p.qmax - z) * s;`,
    ),
};

function check(size: number, channels: number, zeros: number, spec: FakeQuantizeSpec): void {
  if (channels < 1 || zeros !== channels || spec.inner < 1 || size % (spec.inner * channels) !== 0)
    throw new GpuError(
      'invalid-argument',
      `fake quantization of ${size} values needs as many zero points as scales (${zeros} vs ${channels}) and a channel block (${spec.inner}) that tiles them; pass one scale per channel.`,
    );
}

/** y = fake quantization of x with per-channel (or one) `scale` and `zero` (zero points as f32). */
export function encodeFakeQuantize(
  r: Recorder,
  x: GpuTensor,
  scale: GpuTensor,
  zero: GpuTensor,
  y: GpuTensor,
  spec: FakeQuantizeSpec,
): void {
  check(x.size, scale.size, zero.size, spec);
  if (y.size !== x.size)
    throw new GpuError(
      'invalid-argument',
      `fake quantization writes ${x.size} values into a tensor of ${y.size}.`,
    );
  const { inner, qmin, qmax } = spec;
  encodeElementwise(
    r,
    'fake-quantize',
    FAKE_QUANTIZE,
    {},
    PARAMS,
    { total: x.size, inner, channels: scale.size, qmin, qmax },
    [x, scale, zero, y],
  );
}

/** The f32 CPU reference of {@link encodeFakeQuantize}: f32 division, ties to even, as ONNX Runtime rounds. */
export function fakeQuantizeReference(
  x: Float32Array,
  scale: ArrayLike<number>,
  zero: ArrayLike<number>,
  spec: FakeQuantizeSpec,
): Float32Array {
  check(x.length, scale.length, zero.length, spec);
  const y = new Float32Array(x.length);
  for (let e = 0; e < x.length; e++) {
    const c = Math.floor(e / spec.inner) % scale.length;
    const s = scale[c]!;
    const z = zero[c]!;
    // a double quotient of two f32 values rounds to the correctly rounded f32 quotient
    const q = roundHalfEven(Math.fround(x[e]! / s));
    y[e] = Math.min(Math.max(q, spec.qmin - z), spec.qmax - z) * s;
  }
  return y;
}
