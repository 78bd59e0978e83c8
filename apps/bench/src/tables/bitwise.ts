import {
  type BitEncoding,
  type BitwiseKind,
  binaryWeightPlanes,
  Conv2dLayer,
  convGeometry,
  dorefaWeightPlanes,
  encodeBitwiseConv,
  encodePackBits,
  type GpuTensor,
  planeCount,
  ternaryWeightPlanes,
} from '@zeroskip/gpu';
import { dorefaWeights, ternarize } from '@zeroskip/quant';
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
}

/** The seed article's BinaryNet layers (conv2, dense 256 as a 1×1 conv) and ResNet-18's 3×3 layers. */
const FULL: readonly Layer[] = [
  { name: 'BinaryNet conv2', c: 32, hw: 12, o: 64, k: 5, pad: 0 },
  { name: 'BinaryNet dense 256', c: 1024, hw: 1, o: 256, k: 1, pad: 0 },
  { name: 'ResNet-18 C=64', c: 64, hw: 56, o: 64, k: 3, pad: 1 },
  { name: 'ResNet-18 C=128', c: 128, hw: 28, o: 128, k: 3, pad: 1 },
  { name: 'ResNet-18 C=256', c: 256, hw: 14, o: 256, k: 3, pad: 1 },
  { name: 'ResNet-18 C=512', c: 512, hw: 7, o: 512, k: 3, pad: 1 },
];
const QUICK: readonly Layer[] = [{ name: 'BinaryNet conv2', c: 32, hw: 12, o: 64, k: 5, pad: 0 }];

const KINDS: readonly {
  id: string;
  encoding: BitEncoding;
  kind: BitwiseKind;
  weightBits: number;
  activationBits: number;
}[] = [
  {
    id: 'xnor (W1 A1)',
    encoding: { kind: 'binary' },
    kind: { kind: 'xnor' },
    weightBits: 1,
    activationBits: 1,
  },
  {
    id: 'ternary (W2 A2)',
    encoding: { kind: 'ternary', delta: 0.5 },
    kind: { kind: 'ternary' },
    weightBits: 2,
    activationBits: 2,
  },
  {
    id: 'dorefa (W1 A2)',
    encoding: { kind: 'bitplanes', bits: 2 },
    kind: { kind: 'dorefa', activationBits: 2, weightBits: 1 },
    weightBits: 1,
    activationBits: 2,
  },
];

export const bitwiseTable: BenchTable = {
  id: 'bitwise',
  title: 'Binary, ternary and DoReFa convolution vs fp32',
  reference:
    "paper (the seed article's SWAR estimate): one 32-bit XNOR + popcount does 32 binary MACs in about 6 instructions, 32/6 ≈ 5.3× the fp32 rate.\nGPU time of packing the input plus the popcount conv, against the fp32 implicit-GEMM conv; bytes of weights and of the layer's input activations.",
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
        const geo = convGeometry([batch, l.c, l.hw, l.hw], shape, { pads: [l.pad, l.pad, l.pad, l.pad] });
        const w = gaussian(
          shape.reduce((a, b) => a * b, 1),
          ctx.seed,
        );
        const x = gpu.tensor([batch, l.c, l.hw, l.hw], gaussian(batch * l.c * l.hw * l.hw, ctx.seed + 1));
        const base = {
          layer: l.name,
          batch,
          shape: `${l.c}x${l.hw}x${l.hw}->${l.o} k${l.k}`,
          seed: ctx.seed,
        };
        const fp = new Conv2dLayer(gpu, {
          weights: w,
          shape,
          pads: [l.pad, l.pad, l.pad, l.pad],
          algorithm: 'implicit-gemm',
        });
        const fpTime = await timeGpu(gpu, (r) => gpu.release(fp.encode(r, x)), warmup, iterations);
        fp.destroy();
        const activations = batch * l.c * l.hw * l.hw;
        results.push({
          table: 'bitwise',
          case: `${l.name} batch ${batch}`,
          params: {
            ...base,
            kernel: 'fp32 implicit GEMM',
            weightBytes: 4 * w.length,
            activationBytes: 4 * activations,
          },
          metric: 'time',
          unit: 'ms',
          value: fpTime.median,
          timing: fpTime,
        });
        for (const k of KINDS) {
          const planes =
            k.kind.kind === 'xnor'
              ? binaryWeightPlanes(w, shape)
              : k.kind.kind === 'ternary'
                ? ternaryWeightPlanes(ternarize(w).codes, shape)
                : dorefaWeightPlanes(
                    dorefaWeights(w, 1).map((v) => Math.sign(v)),
                    shape,
                    1,
                  );
          const wt = gpu.tensor([planes.length], planes);
          const ones = gpu.tensor([l.o], new Float32Array(l.o).fill(1));
          const zeros = gpu.tensor([l.o], new Float32Array(l.o));
          const words = batch * l.hw * l.hw * Math.ceil(l.c / 32);
          const xb = gpu.empty([planeCount(k.encoding) * words], 'u32');
          const t = await timeGpu(
            gpu,
            (r) => {
              const y: GpuTensor = gpu.empty([geo.n, geo.o, geo.ho, geo.wo]);
              encodePackBits(r, x, xb, [batch, l.c, l.hw, l.hw], k.encoding);
              encodeBitwiseConv(r, { x: xb, w: wt, scale: ones, bias: zeros, y }, geo, k.kind, 'none');
              gpu.release(y);
            },
            warmup,
            iterations,
          );
          for (const tt of [wt, ones, zeros, xb]) gpu.release(tt);
          results.push({
            table: 'bitwise',
            case: `${l.name} batch ${batch}`,
            params: {
              ...base,
              kernel: k.id,
              weightBytes: 4 * planes.length,
              activationBytes: 4 * planeCount(k.encoding) * words,
            },
            metric: 'time',
            unit: 'ms',
            value: t.median,
            timing: t,
          });
          results.push({
            table: 'bitwise',
            case: `${l.name} batch ${batch}`,
            params: {
              ...base,
              kernel: k.id,
              over: 'fp32',
              swarEstimate: +(32 / 6 / (k.weightBits * k.activationBits)).toFixed(2),
            },
            metric: 'speedup',
            unit: '×',
            value: fpTime.median / t.median,
          });
        }
        gpu.release(x);
      }
    }
    ctx.progress(1, 1, 'done');
    return results;
  },
};
