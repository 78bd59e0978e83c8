import {
  Conv2dLayer,
  type ConvAlgorithm,
  convGeometry,
  DENSE_KERNELS,
  type DenseKernel,
  denseKernelApplies,
  type GpuTensor,
  parseDenseKernel,
  parseSparseBlocking,
  parseSparseStaging,
  parseSparseTiling,
  type SparseBlocking,
  type SparseStaging,
  type SparseTiling,
  sparseBlockingName,
  sparseStagingName,
  sparseTilingName,
} from '@zeroskip/gpu';
import { pruneByRate } from '@zeroskip/quant';
import { type ConvLayerShape, PAPER_LAYERS, QUICK_LAYERS } from '../layers-zoo.js';
import { timeGpu } from '../measure.js';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';
import { gaussian } from '../rng.js';

const SPARSITIES = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
type Algo = Exclude<ConvAlgorithm, 'depthwise'>;

/** Sparse kernels timed at every sparsity, each with its speedup rows (metric names kept from earlier runs). */
const SPARSE_ALGOS = {
  'im2col-spmm': undefined,
  'direct-sparse': 'direct sparse',
  'sparse-tiled': 'sparse-tiled',
  'sparse-blocked': 'sparse-blocked',
  'sparse-staged': 'sparse-staged',
} as const;

/** An explicit work split of one sparse kernel, or an explicit dense kernel, timed beside its default. */
type Variant =
  | { readonly algorithm: 'sparse-tiled'; readonly tiling: SparseTiling }
  | { readonly algorithm: 'sparse-blocked'; readonly blocking: SparseBlocking }
  | { readonly algorithm: 'sparse-staged'; readonly staging: SparseStaging };
type DenseVariant = { readonly algorithm: 'implicit-gemm'; readonly dense: DenseKernel };

const envList = (name: string) => process.env[name]?.trim().split(',').filter(Boolean) ?? [];

/**
 * Explicit variants from ZEROSKIP_SPARSE_TILINGS (`p7l32c128s1r1,p7l1c32s4r1`: px, lanes, cols, split,
 * rows as `sparseTilingName` writes them), ZEROSKIP_SPARSE_BLOCKINGS (`r16p7t64b1s1,…`: rows, px,
 * threads, blocks, split as `sparseBlockingName` writes them) and ZEROSKIP_SPARSE_STAGINGS
 * (`p7r4w8c12l32,…`: px, rows, warps, channels, width as `sparseStagingName` writes them).
 */
function variants(): Variant[] {
  return [
    ...envList('ZEROSKIP_SPARSE_TILINGS').map((n) => ({
      algorithm: 'sparse-tiled' as const,
      tiling: parseSparseTiling(n),
    })),
    ...envList('ZEROSKIP_SPARSE_BLOCKINGS').map((n) => ({
      algorithm: 'sparse-blocked' as const,
      blocking: parseSparseBlocking(n),
    })),
    ...envList('ZEROSKIP_SPARSE_STAGINGS').map((n) => ({
      algorithm: 'sparse-staged' as const,
      staging: parseSparseStaging(n),
    })),
  ];
}

/** Dense kernels from ZEROSKIP_DENSE_KERNELS (`gemm-large,winograd-4`, or `all`), each timed where it applies. */
function denseVariants(): DenseVariant[] {
  const names = envList('ZEROSKIP_DENSE_KERNELS');
  const kernels = names.includes('all') ? DENSE_KERNELS : names.map(parseDenseKernel);
  return kernels.map((dense) => ({ algorithm: 'implicit-gemm', dense }));
}

/** The name of the kernel variant a layer runs: the dense kernel, or a sparse kernel's work split. */
function splitName(layer: Conv2dLayer, input: readonly number[]): string | undefined {
  const geo = layer.geometry(input);
  if (layer.algorithm === 'implicit-gemm') return layer.denseKernelFor(geo);
  if (layer.algorithm === 'sparse-tiled') return sparseTilingName(layer.tilingFor(geo));
  if (layer.algorithm === 'sparse-blocked') return sparseBlockingName(layer.blockingFor(geo));
  if (layer.algorithm === 'sparse-staged') return sparseStagingName(layer.stagingFor(geo));
  return undefined;
}

export const sparseConvTable: BenchTable = {
  id: 'sparse-conv',
  title: 'Per-layer sparse convolution (Escort; Fang et al.)',
  reference:
    'paper (Escort, Fang et al.): direct sparse conv 2.63× over im2col + GEMM (cuBLAS) and 3.07× over im2col + CSR SpMM (cuSPARSE) on average.\nWeights are seeded Gaussian pruned by magnitude; GPU time per layer, pad and im2col included.',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const gpu = await ctx.gpu();
    const layers = full ? PAPER_LAYERS : QUICK_LAYERS;
    const batches = ctx.batches ?? (full ? [1, 32] : [1]);
    const [warmup, iterations] = full ? [3, 15] : [1, 3];
    const explicit = variants();
    const dense = denseVariants();
    const results: BenchResult[] = [];
    const total = layers.length * batches.length;
    let done = 0;
    for (const l of layers) {
      const sparsities =
        ctx.sparsities ??
        (full
          ? [...SPARSITIES, ...(l.paperSparsity ? [l.paperSparsity] : [])]
          : [0.5, 0.9, ...(l.paperSparsity ? [l.paperSparsity] : [])]);
      for (const batch of batches) {
        ctx.progress(done++, total, `${l.network} ${l.name} batch ${batch}`);
        const [c, h, w] = l.input;
        const shape = [l.outputs, c / l.groups, l.kernel, l.kernel] as const;
        const params = {
          pads: [l.pad, l.pad, l.pad, l.pad],
          stride: [l.stride, l.stride],
          groups: l.groups,
        } as const;
        const base = gaussian(
          shape.reduce((a, b) => a * b, 1),
          ctx.seed,
        );
        let x: GpuTensor | undefined;
        try {
          x = gpu.tensor([batch, c, h, w], gaussian(batch * c * h * w, ctx.seed + 1));
        } catch (e) {
          results.push(skipped(l, batch, 0, 'all', e));
          continue;
        }
        const measure = async (algorithm: Algo, sparsity: number, variant?: Variant | DenseVariant) => {
          const weights = pruneByRate(base, sparsity).weights;
          const layer = new Conv2dLayer(gpu, { weights, shape, ...params, ...(variant ?? { algorithm }) });
          try {
            const tiling = splitName(layer, x!.shape);
            const t = await timeGpu(gpu, (r) => gpu.release(layer.encode(r, x!)), warmup, iterations);
            results.push({
              table: 'sparse-conv',
              case: `${l.network} ${l.name}`,
              params: {
                algorithm,
                batch,
                sparsity,
                shape: `${c}x${h}x${w}->${l.outputs} k${l.kernel} g${l.groups}`,
                ...(tiling ? { tiling } : {}),
                ...(tiling ? { choice: variant ? 'explicit' : 'default' } : {}),
                seed: ctx.seed,
              },
              metric: 'time',
              unit: 'ms',
              value: t.median,
              timing: {
                median: t.median,
                p10: t.p10,
                p90: t.p90,
                samples: t.samples,
                clock: t.clock,
              },
            });
          } catch (e) {
            results.push(skipped(l, batch, sparsity, algorithm, e));
          } finally {
            layer.destroy();
          }
        };
        // dense kernels cost the same at any sparsity: measured once, on the first sparsity's weights
        for (const algorithm of ['implicit-gemm', 'im2col-gemm'] as const)
          await measure(algorithm, sparsities[0]!);
        const geo = convGeometry([batch, c, h, w], shape, params);
        for (const variant of dense.filter((v) => denseKernelApplies(v.dense, geo)))
          await measure('implicit-gemm', sparsities[0]!, variant);
        for (const sparsity of sparsities) {
          for (const algorithm of Object.keys(SPARSE_ALGOS) as (keyof typeof SPARSE_ALGOS)[])
            await measure(algorithm, sparsity);
          for (const variant of explicit) await measure(variant.algorithm, sparsity, variant);
        }
        gpu.release(x);
        results.push(...speedups(results, `${l.network} ${l.name}`, batch));
      }
    }
    ctx.progress(total, total, 'done');
    return results;
  },
};

function skipped(
  l: ConvLayerShape,
  batch: number,
  sparsity: number,
  algorithm: string,
  e: unknown,
): BenchResult {
  return {
    table: 'sparse-conv',
    case: `${l.network} ${l.name}`,
    params: { algorithm, batch, sparsity, skipped: (e as Error).message },
    metric: 'time',
    unit: 'ms',
    value: Number.NaN,
  };
}

/** Each sparse kernel (default tiling) over each baseline, per sparsity, from the times just measured for one layer and batch. */
function speedups(all: readonly BenchResult[], name: string, batch: number): BenchResult[] {
  const times = all.filter(
    (r) => r.case === name && r.params.batch === batch && r.metric === 'time' && Number.isFinite(r.value),
  );
  const at = (algorithm: string, sparsity?: number) =>
    times.find(
      (r) => r.params.algorithm === algorithm && (sparsity === undefined || r.params.sparsity === sparsity),
    )?.value;
  const out: BenchResult[] = [];
  for (const r of times) {
    const label = SPARSE_ALGOS[r.params.algorithm as keyof typeof SPARSE_ALGOS];
    if (!label || r.params.choice === 'explicit') continue;
    const sparsity = r.params.sparsity as number;
    for (const [baseline, t] of [
      ['im2col-gemm', at('im2col-gemm')],
      ['im2col-spmm', at('im2col-spmm', sparsity)],
      ['implicit-gemm', at('implicit-gemm')],
      ...(r.params.algorithm === 'direct-sparse'
        ? []
        : [['direct-sparse', at('direct-sparse', sparsity)] as const]),
    ] as const) {
      if (t !== undefined)
        out.push({
          table: 'sparse-conv',
          case: name,
          params: { batch, sparsity, over: baseline },
          metric: `speedup of ${label}`,
          unit: '×',
          value: t / r.value,
        });
    }
  }
  return out;
}
