import {
  Conv2dLayer,
  convGeometry,
  encodePack,
  outputLevels,
  packedShape,
  QuantConvLayer,
  type QuantConvParams,
  type QuantConvSpec,
  quantWeightPlanes,
} from '@zeroskip/gpu';
import { timeGpu } from '../measure.js';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';
import { gaussian } from '../rng.js';

interface Layer {
  readonly name: string;
  readonly c: number;
  readonly hw: number;
  readonly o: number;
  readonly k: number;
  readonly pad: number;
  readonly stride?: number;
}

/** The seed article's BinaryNet layers (conv2, dense 256 as a 1×1 conv) and ResNet-18's 3×3 layers, the stage entries included. */
const FULL: readonly Layer[] = [
  { name: 'BinaryNet conv2', c: 32, hw: 12, o: 64, k: 5, pad: 0 },
  { name: 'BinaryNet dense 256', c: 1024, hw: 1, o: 256, k: 1, pad: 0 },
  { name: 'ResNet-18 C=64', c: 64, hw: 56, o: 64, k: 3, pad: 1 },
  { name: 'ResNet-18 C=64→128 s2', c: 64, hw: 56, o: 128, k: 3, pad: 1, stride: 2 },
  { name: 'ResNet-18 C=128', c: 128, hw: 28, o: 128, k: 3, pad: 1 },
  { name: 'ResNet-18 C=128→256 s2', c: 128, hw: 28, o: 256, k: 3, pad: 1, stride: 2 },
  { name: 'ResNet-18 C=256', c: 256, hw: 14, o: 256, k: 3, pad: 1 },
  { name: 'ResNet-18 C=256→512 s2', c: 256, hw: 14, o: 512, k: 3, pad: 1, stride: 2 },
  { name: 'ResNet-18 C=512', c: 512, hw: 7, o: 512, k: 3, pad: 1 },
];
const QUICK: readonly Layer[] = [{ name: 'BinaryNet conv2', c: 32, hw: 12, o: 64, k: 5, pad: 0 }];

/** The QuantConvs the zoo's networks run, from a packed input to the next layer's input. */
const KINDS: readonly { id: string; spec: QuantConvSpec; residual?: boolean; bitOps: number }[] = [
  {
    id: 'binary → sign (BinaryNet, XNOR)',
    spec: { activations: 'sign', weights: 'binary', output: 'sign' },
    bitOps: 1,
  },
  {
    id: 'binary → float + residual + sign (Bi-Real)',
    spec: { activations: 'sign', weights: 'binary', output: 'float' },
    residual: true,
    bitOps: 1,
  },
  {
    id: 'ternary → sign (TWN weights)',
    spec: { activations: 'sign0', weights: 'ternary', output: 'sign' },
    bitOps: 2,
  },
  {
    id: 'DoReFa W1A3 → 3 bits',
    spec: { activations: 'bits', activationBits: 3, weights: 'binary', output: 'bits', outputBits: 3 },
    bitOps: 3,
  },
];

/** Threads per pixel of the QuantConv: the layer's own choice, and one (each thread all 32 channels). */
const LANES = ['auto', 1] as const;

/** Weights on the spec's grid: signs of `w`, and zeros below |w| < 0.5 for ternary. */
function gridWeights(w: Float32Array, spec: QuantConvSpec): Float32Array {
  return w.map((v) => (spec.weights === 'ternary' && Math.abs(v) < 0.5 ? 0 : v < 0 ? -1 : 1));
}

/** Output parameters: unit scale and zero bias, or ascending thresholds for every channel. */
function outputParams(spec: QuantConvSpec, o: number): QuantConvParams {
  const levels = outputLevels(spec);
  if (levels === 0) return { scale: new Float32Array(o).fill(1), bias: new Float32Array(o) };
  return { thresholds: Float32Array.from({ length: o * levels }, (_, i) => (i % levels) - levels / 2) };
}

export const bitwiseTable: BenchTable = {
  id: 'bitwise',
  title: 'Binary, ternary and DoReFa convolution vs fp32',
  reference:
    "paper (the seed article's SWAR estimate): one 32-bit XNOR + popcount does 32 binary MACs in about 6 instructions, 32/6 ≈ 5.3× the fp32 rate.\nGPU time of the popcount conv (QuantConv) from a packed input, as inside a chain of quantized layers, against the fp32 dense conv (the runtime's kernel for the layer); with the layer's own count of threads per pixel (lanes auto) and with one; bytes of weights and of the layer's input activations.",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const gpu = await ctx.gpu();
    const layers = full ? FULL : QUICK;
    const batches = ctx.batches ?? (full ? [1, 32] : [1]);
    const [warmup, iterations] = full ? [3, 15] : [1, 3];
    const results: BenchResult[] = [];
    let step = 0;
    for (const l of layers) {
      for (const batch of batches) {
        ctx.progress(step++, layers.length * batches.length, `${l.name} batch ${batch}`);
        const shape = [l.o, l.c, l.k, l.k] as const;
        const conv = {
          pads: [l.pad, l.pad, l.pad, l.pad] as const,
          stride: [l.stride ?? 1, l.stride ?? 1] as const,
        };
        const xShape = [batch, l.c, l.hw, l.hw] as const;
        const activations = xShape.reduce((a, b) => a * b, 1);
        const geo = convGeometry(xShape, shape, conv);
        const w = gaussian(
          shape.reduce((a, b) => a * b, 1),
          ctx.seed,
        );
        const x = gpu.tensor(xShape, gaussian(activations, ctx.seed + 1));
        const base = {
          layer: l.name,
          batch,
          shape: `${l.c}x${l.hw}x${l.hw}->${l.o} k${l.k}${l.stride ? ` s${l.stride}` : ''}`,
          seed: ctx.seed,
        };
        const fp = new Conv2dLayer(gpu, {
          weights: w,
          shape,
          ...conv,
          algorithm: 'implicit-gemm',
        });
        const fpTime = await timeGpu(gpu, (r) => gpu.release(fp.encode(r, x)), warmup, iterations);
        fp.destroy();
        results.push({
          table: 'bitwise',
          case: `${l.name} batch ${batch}`,
          params: {
            ...base,
            kernel: 'fp32 dense',
            weightBytes: 4 * w.length,
            activationBytes: 4 * activations,
          },
          metric: 'time',
          unit: 'ms',
          value: fpTime.median,
          timing: fpTime,
        });
        for (const k of KINDS) {
          const spec: QuantConvSpec = { ...k.spec, conv };
          const gw = gridWeights(w, spec);
          const params = outputParams(spec, l.o);
          const weightBytes = 4 * quantWeightPlanes(gw, shape, spec).planes.length;
          // the same conv with each count of lanes
          const convs = LANES.map(
            (lanes) => new QuantConvLayer(gpu, spec, gw, shape, params, lanes === 'auto' ? {} : { lanes }),
          );
          const xb = gpu.empty(packedShape(xShape, convs[0]!.inputEncoding), 'u32');
          const residual = k.residual
            ? gpu.tensor(
                [geo.n, geo.o, geo.ho, geo.wo],
                gaussian(geo.n * geo.o * geo.ho * geo.wo, ctx.seed + 2),
              )
            : undefined;
          await gpu.submit((r) => encodePack(r, x, xb, xShape, convs[0]!.inputEncoding));
          const times = [];
          for (const layer of convs)
            times.push(
              await timeGpu(
                gpu,
                (r) => {
                  const out = layer.encodeFused(r, xb, k.residual ? { residual: residual!, sign: true } : {});
                  gpu.release(out.y);
                  if (out.sign) gpu.release(out.sign);
                },
                warmup,
                iterations,
              ),
            );
          for (const layer of convs) layer.destroy();
          for (const t of [xb, ...(residual ? [residual] : [])]) gpu.release(t);
          const [auto, one] = times as [(typeof times)[number], (typeof times)[number]];
          for (const [i, t] of times.entries())
            results.push({
              table: 'bitwise',
              case: `${l.name} batch ${batch}`,
              params: {
                ...base,
                kernel: k.id,
                lanes: LANES[i]!,
                weightBytes,
                activationBytes: 4 * xb.size,
              },
              metric: 'time',
              unit: 'ms',
              value: t.median,
              timing: t,
            });
          results.push(
            {
              table: 'bitwise',
              case: `${l.name} batch ${batch}`,
              params: {
                ...base,
                kernel: k.id,
                over: 'fp32',
                swarEstimate: +(32 / 6 / k.bitOps).toFixed(2),
              },
              metric: 'speedup',
              unit: '×',
              value: fpTime.median / auto.median,
            },
            {
              table: 'bitwise',
              case: `${l.name} batch ${batch}`,
              params: { ...base, kernel: k.id, over: 'one lane' },
              metric: 'speedup',
              unit: '×',
              value: one.median / auto.median,
            },
          );
        }
        gpu.release(x);
      }
    }
    ctx.progress(1, 1, 'done');
    return results;
  },
};
