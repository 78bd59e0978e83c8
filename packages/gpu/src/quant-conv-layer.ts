import { quantWeightPlanes } from './bit-weights.js';
import type { Gpu } from './device.js';
import { GpuError } from './errors.js';
import type { ConvGeometry } from './geometry.js';
import { type BitPoolGeometry, encodeMaxPoolBits, pooledShape } from './kernels/bit-pool.js';
import { encodingPlanes, type PackedEncoding, packedShape } from './kernels/pack-bits.js';
import {
  encodeQuantConv,
  fusesPool,
  type QuantConvOutput,
  type WeightEncoding,
} from './kernels/quant-conv.js';
import {
  activationLevels,
  MAX_QUANT_ACCUMULATOR,
  type QuantConvParams,
  type QuantConvSpec,
  quantConvGeometry,
  quantOutputTransform,
} from './quant-conv-reference.js';
import type { Recorder } from './recorder.js';
import type { GpuTensor } from './tensor.js';

/** The packing a QuantConv's input needs: its activation quantizer. */
export function activationEncoding(spec: QuantConvSpec): PackedEncoding {
  return spec.activations === 'bits'
    ? { mode: 'bits', bits: spec.activationBits! }
    : { mode: spec.activations };
}

/** How a QuantConv's output is held: packed planes for sign and k-bit outputs, undefined for f32 NCHW. */
export function quantOutputEncoding(
  spec: QuantConvSpec,
): Exclude<PackedEncoding, { mode: 'sign0' }> | undefined {
  return spec.output === 'sign'
    ? { mode: 'sign' }
    : spec.output === 'bits'
      ? { mode: 'bits', bits: spec.outputBits! }
      : undefined;
}

/**
 * Thresholds as integers: acc ≥ T ⟺ acc ≥ ⌈T⌉ for an integer acc, and ±Infinity (always / never)
 * become bounds beyond any |acc| < 2^24, so the kernel compares exactly in i32.
 */
function integerThresholds(t: ArrayLike<number>): Int32Array {
  const bound = 2 * MAX_QUANT_ACCUMULATOR;
  return Int32Array.from({ length: t.length }, (_, i) => Math.max(-bound, Math.min(bound, Math.ceil(t[i]!))));
}

/**
 * A QuantConv whose packed weights and output parameters live on the GPU: `encode` records one
 * dispatch from the packed input ({@link inputEncoding}) to f32 NCHW (output "float") or to packed
 * planes ({@link outputEncoding}) that the next QuantConv reads as they are.
 */
export class QuantConvLayer {
  readonly inputEncoding: PackedEncoding;
  /** The packing of the output, or undefined for f32 NCHW. */
  readonly outputEncoding: Exclude<PackedEncoding, { mode: 'sign0' }> | undefined;
  readonly weightEncoding: WeightEncoding;
  private readonly w: GpuTensor;
  private readonly params: GpuTensor[];

  /**
   * `weights` [O, C, kh, kw] on the grid of `spec.weights`; `params` S and B, or T [O, Lo]; `tiling.lanes`
   * fixes how many threads share a pixel's 32 output channels and `tiling.stageWeights` whether weights
   * are staged in workgroup memory (see `QuantConvKernel`), to compare tilings.
   */
  constructor(
    private readonly gpu: Gpu,
    private readonly spec: QuantConvSpec,
    weights: ArrayLike<number>,
    readonly weightShape: readonly [number, number, number, number],
    params: QuantConvParams,
    private readonly tiling: { readonly lanes?: number; readonly stageWeights?: boolean } = {},
  ) {
    if ((spec.conv?.groups ?? 1) !== 1)
      throw new GpuError('invalid-argument', `a QuantConv has one group, got ${spec.conv?.groups}.`);
    const [o] = weightShape;
    // validates the bit widths, the parameter lengths and the threshold order before anything is uploaded
    quantOutputTransform(spec, params, o);
    activationLevels(spec);
    this.inputEncoding = activationEncoding(spec);
    const packed = quantWeightPlanes(weights, weightShape, spec);
    this.weightEncoding = packed.encoding;
    this.outputEncoding = quantOutputEncoding(spec);
    this.w = gpu.tensor([packed.planes.length], packed.planes);
    this.params =
      spec.output === 'float'
        ? [
            gpu.tensor([o], Float32Array.from(params.scale!)),
            gpu.tensor([o], Float32Array.from(params.bias!)),
          ]
        : [gpu.tensor([params.thresholds!.length], integerThresholds(params.thresholds!))];
  }

  /** The geometry for an unpacked input shape [N, C, H, W]. */
  geometry(input: readonly number[]): ConvGeometry {
    return quantConvGeometry(input, this.weightShape, this.spec);
  }

  /** Records the QuantConv of packed `x` ([planes, N, H, W, ⌈C/32⌉]); returns the output (from the pool). */
  encode(r: Recorder, x: GpuTensor): GpuTensor {
    return this.encodeFused(r, x).y;
  }

  /**
   * Records the QuantConv of packed `x` with a float output's epilogue fused: `residual` (f32 NCHW of
   * the output's shape) added to S·acc + B, and with `sign` the packed sign plane of the result as well,
   * the input of a next binary layer; or a packed output's max `pool` ({@link bitPoolGeometry} of the
   * output's shape), written instead of the output. Returns the outputs (from the device's pool).
   */
  encodeFused(
    r: Recorder,
    x: GpuTensor,
    epilogue: {
      readonly residual?: GpuTensor;
      readonly sign?: boolean;
      readonly pool?: BitPoolGeometry;
    } = {},
  ): { y: GpuTensor; sign?: GpuTensor } {
    const [planes, n, h, w, words] = x.shape;
    const c = this.weightShape[1];
    if (
      x.shape.length !== 5 ||
      planes !== encodingPlanes(this.inputEncoding) ||
      words !== Math.ceil(c / 32) ||
      x.dtype !== 'u32'
    )
      throw new GpuError(
        'invalid-argument',
        `a QuantConv on ${c} channels takes ${encodingPlanes(this.inputEncoding)} packed planes [planes, N, H, W, ${Math.ceil(c / 32)}] of u32, got [${x.shape.join(', ')}] ${x.dtype}; pack the input with encodePack first.`,
      );
    const geo = this.geometry([n!, c, h!, w!]);
    const shape: [number, number, number, number] = [geo.n, geo.o, geo.ho, geo.wo];
    const { residual, sign, pool } = epilogue;
    if ((residual || sign) && this.outputEncoding)
      throw new GpuError(
        'invalid-argument',
        `a QuantConv with "${this.spec.output}" output has no float epilogue to fuse a residual or a sign into; give it a float output.`,
      );
    if (pool && !this.outputEncoding)
      throw new GpuError(
        'invalid-argument',
        'a QuantConv fuses a max pool into a packed output only; give it a "sign" or "bits" output, or pool its float output separately.',
      );
    if (pool && this.outputEncoding && !fusesPool(pool)) {
      // a window wider than a workgroup's pixels: the pool runs as a dispatch of its own
      const whole = this.encode(r, x);
      const y = this.gpu.empty(packedShape(pooledShape(pool), this.outputEncoding), 'u32');
      encodeMaxPoolBits(r, whole, y, pool, this.outputEncoding);
      this.gpu.release(whole);
      return { y };
    }
    if (residual && (residual.dtype !== 'f32' || residual.shape.join() !== shape.join()))
      throw new GpuError(
        'invalid-argument',
        `a QuantConv residual must be f32 [${shape.join(', ')}] like its output, got [${residual.shape.join(', ')}] ${residual.dtype}.`,
      );
    const y = this.outputEncoding
      ? this.gpu.empty(packedShape(pool ? pooledShape(pool) : shape, this.outputEncoding), 'u32')
      : this.gpu.empty(shape);
    const signPlane = sign ? this.gpu.empty(packedShape(shape, { mode: 'sign' }), 'u32') : undefined;
    // only the flags that are set, so that equal kernels share one pipeline key
    const output: QuantConvOutput = this.outputEncoding ?? {
      mode: 'float',
      ...(residual ? { residual: true } : {}),
      ...(sign ? { sign: true } : {}),
    };
    encodeQuantConv(
      r,
      {
        x,
        w: this.w,
        params: this.params,
        y,
        ...(residual ? { residual } : {}),
        ...(signPlane ? { sign: signPlane } : {}),
      },
      {
        geo,
        input: this.inputEncoding,
        weights: this.weightEncoding,
        output,
        ...(pool ? { pool } : {}),
        ...this.tiling,
      },
    );
    return signPlane ? { y, sign: signPlane } : { y };
  }

  destroy(): void {
    for (const t of [this.w, ...this.params]) this.gpu.release(t);
    this.params.length = 0;
  }
}
