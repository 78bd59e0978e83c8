import { encodeLowBitFc, FcLayer, type LowBitWeights, lowBitRows, lowBitRowsPerGroup } from '@zeroskip/gpu';
import { timeGpu } from '../measure.js';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';
import { gaussian } from '../rng.js';

interface Layer {
  readonly name: string;
  readonly k: number;
  readonly outputs: number;
}

/** Classifier layers of the zoo's networks, largest first, and the MNIST nets' hidden layer. */
const FULL: readonly Layer[] = [
  { name: 'VGG-16 fc6', k: 25088, outputs: 4096 },
  { name: 'AlexNet fc6', k: 9216, outputs: 4096 },
  { name: 'VGG-16 fc7', k: 4096, outputs: 4096 },
  { name: 'VGG-16 fc8', k: 4096, outputs: 1000 },
  { name: 'ResNet-18 fc', k: 512, outputs: 1000 },
  { name: 'TernaryNet dense 256', k: 1024, outputs: 256 },
];
const QUICK: readonly Layer[] = [{ name: 'TernaryNet dense 256', k: 1024, outputs: 256 }];

/** Output channels per workgroup compared (the kernel's default is one of them). */
const ROW_COUNTS = [4, 8, 16];

/** TWN's grid on `w`: 0 below 0.7·E|w| (about 42% of Gaussian weights), else ±E|w|·sign. */
function gridWeights(w: Float32Array, weights: LowBitWeights): Float32Array {
  const mean = w.reduce((s, v) => s + Math.abs(v), 0) / w.length;
  return w.map((v) => (weights === 'ternary' && Math.abs(v) < 0.7 * mean ? 0 : Math.sign(v) * mean || mean));
}

export const lowBitFcTable: BenchTable = {
  id: 'lowbit-fc',
  title: 'FC layers on binary and ternary weights vs f32',
  reference:
    'An FC layer over few rows streams its weights once: on bit planes (1 bit a weight for ±α, 2 for {−α, 0, α}) it reads a 16th to a 32nd of the bytes of the f32 GEMV the runtime runs otherwise.\nGPU time per layer (timestamps, median), the f32 GEMV beside the low-bit kernel with 4, 8 and 16 output channels per workgroup, the speedup at the default count; weight bytes read per second.',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const gpu = await ctx.gpu();
    const layers = full ? FULL : QUICK;
    const batches = ctx.batches ?? (full ? [1, 2, 4, 8] : [1]);
    const [warmup, iterations] = full ? [3, 15] : [1, 3];
    const results: BenchResult[] = [];
    let step = 0;
    for (const l of layers) {
      const w = gaussian(l.k * l.outputs, ctx.seed);
      for (const batch of batches) {
        ctx.progress(step++, layers.length * batches.length, `${l.name} batch ${batch}`);
        const x = gpu.tensor([batch, l.k], gaussian(batch * l.k, ctx.seed + 1));
        const base = { layer: l.name, batch, shape: `${l.k}->${l.outputs}`, seed: ctx.seed };
        const row = (
          params: Record<string, string | number>,
          value: number,
          unit: string,
          metric: string,
          timing?: BenchResult['timing'],
        ) =>
          results.push({
            table: 'lowbit-fc',
            case: `${l.name} batch ${batch}`,
            params: { ...base, ...params },
            metric,
            unit,
            value,
            ...(timing ? { timing } : {}),
          });
        const dense = new FcLayer(gpu, { weights: w, outputs: l.outputs, algorithm: 'dense' });
        const f32 = await timeGpu(gpu, (r) => gpu.release(dense.encode(r, x)), warmup, iterations);
        dense.destroy();
        row({ kernel: 'f32 GEMV', weightBytes: 4 * w.length }, f32.median, 'ms', 'time', f32);
        for (const weights of ['binary', 'ternary'] as const) {
          const bits = lowBitRows(gridWeights(w, weights), l.outputs)!;
          const planes = gpu.tensor([bits.planes.length], bits.planes);
          const alpha = gpu.tensor([l.outputs], bits.alpha);
          const bias = gpu.tensor([l.outputs], new Float32Array(l.outputs));
          const shape = { batch, k: l.k, outputs: l.outputs };
          for (const rows of ROW_COUNTS) {
            const t = await timeGpu(
              gpu,
              (r) => {
                const y = gpu.empty([batch, l.outputs]);
                encodeLowBitFc(r, { x, planes, alpha, bias, y }, shape, weights, 'none', rows);
                gpu.release(y);
              },
              warmup,
              iterations,
            );
            const params = { kernel: weights, rows, weightBytes: 4 * bits.planes.length };
            row(params, t.median, 'ms', 'time', t);
            row(params, (4 * bits.planes.length) / t.median / 1e6, 'GB/s', 'weight bytes');
            if (rows === lowBitRowsPerGroup(l.outputs, batch))
              row({ kernel: weights, over: 'f32 GEMV' }, f32.median / t.median, '×', 'speedup');
          }
          for (const t of [planes, alpha, bias]) gpu.release(t);
        }
        gpu.release(x);
      }
    }
    ctx.progress(1, 1, 'done');
    return results;
  },
};
