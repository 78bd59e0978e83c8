import {
  Conv2dLayer,
  type ConvAlgorithm,
  type ConvGeometry,
  type ConvParams,
  chooseConvAlgorithm,
  convGeometry,
} from '@zeroskip/gpu';
import { pruneByRate } from '@zeroskip/quant';
import { attrNumber, attrNumbers, type Graph, inferShapes } from '@zeroskip/runtime';
import { timeGpu } from '../measure.js';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';
import { gaussian } from '../rng.js';
import { benchNetworks, withBatch, zooGraph } from '../zoo-graphs.js';

/** One distinct conv of a network: its shapes at batch 1 and how many of the network's convs share them. */
interface NetworkConv {
  readonly network: string;
  readonly name: string;
  readonly input: readonly number[];
  readonly weights: readonly [number, number, number, number];
  readonly params: ConvParams;
  readonly count: number;
}

/** The network's convs with dense kernels to choose between (not depthwise), one per distinct geometry. */
export function networkConvs(network: string, graph: Graph): NetworkConv[] {
  const info = inferShapes(withBatch(graph, 1));
  const byKey = new Map<string, NetworkConv>();
  for (const node of graph.nodes) {
    if (node.op !== 'Conv') continue;
    const input = info.get(node.inputs[0]!)?.shape;
    const weights = info.get(node.inputs[1]!)?.shape as NetworkConv['weights'] | undefined;
    if (input?.length !== 4 || weights?.length !== 4) continue;
    const groups = attrNumber(node, 'group', 1);
    if (weights[1] === 1 && groups > 1) continue;
    const params: ConvParams = {
      stride: (attrNumbers(node, 'strides') ?? [1, 1]) as [number, number],
      pads: (attrNumbers(node, 'pads') ?? [0, 0, 0, 0]) as [number, number, number, number],
      dilation: (attrNumbers(node, 'dilations') ?? [1, 1]) as [number, number],
      groups,
    };
    const key = JSON.stringify([input, weights, params]);
    const seen = byKey.get(key);
    byKey.set(
      key,
      seen
        ? { ...seen, count: seen.count + 1 }
        : { network, name: node.name, input, weights, params, count: 1 },
    );
  }
  return [...byKey.values()];
}

const SPARSITIES = [0.5, 0.6, 0.7, 0.8, 0.9];

/** One conv's times at one batch: its dense kernel, and each sparse kernel at each sparsity. */
export interface TimedConv {
  readonly network: string;
  readonly count: number;
  readonly geo: ConvGeometry;
  readonly dense: number;
  readonly sparse: ReadonlyMap<ConvAlgorithm, readonly number[]>;
}

/**
 * Per network and sparsity, the time of all its convs (each counted as often as the network has it)
 * run dense over that of the planner's choice (`chooseConvAlgorithm`) and over that of the faster of
 * dense and each sparse kernel: how much of what the kernels offer the planner takes, and whether it
 * ever loses to dense.
 */
export function choiceOverDense(
  convs: readonly TimedConv[],
  sparsities: readonly number[],
  batch: number,
): BenchResult[] {
  const rows: BenchResult[] = [];
  for (const network of new Set(convs.map((c) => c.network))) {
    const own = convs.filter((c) => c.network === network);
    for (const [k, sparsity] of sparsities.entries()) {
      let dense = 0;
      let chosen = 0;
      let best = 0;
      for (const c of own) {
        const choice = chooseConvAlgorithm(c.geo, sparsity);
        const at = (a: ConvAlgorithm) => c.sparse.get(a)?.[k] ?? Number.POSITIVE_INFINITY;
        dense += c.count * c.dense;
        chosen += c.count * (choice === 'implicit-gemm' ? c.dense : at(choice));
        best += c.count * Math.min(c.dense, ...[...c.sparse.keys()].map(at));
      }
      for (const [metric, t] of [
        ["speedup of the planner's choice", chosen],
        ['speedup of the fastest kernels', best],
      ] as const)
        rows.push({
          table: 'conv-crossover',
          case: `${network} batch ${batch}`,
          params: { network, batch, sparsity, over: 'dense' },
          metric,
          unit: '×',
          value: dense / t,
        });
    }
  }
  return rows;
}

/** The sparse kernels the planner chooses between. */
const SPARSE: readonly ConvAlgorithm[] = ['sparse-tiled', 'direct-sparse', 'sparse-staged'];

/**
 * From which sparsity on sparse beats dense, layer by layer, on the networks' own convs: the data the
 * planner's sparse/dense rule is fitted to, and the check of that rule.
 */
export const convCrossoverTable: BenchTable = {
  id: 'conv-crossover',
  title: 'Where sparse convolution overtakes dense, per conv of each network',
  reference:
    "Each distinct conv of the zoo networks (seeded Gaussian weights pruned by magnitude), GPU time of the cost model's dense kernel and of each sparse kernel at each sparsity; 'break-even' is the lowest sparsity from which the faster sparse kernel beats dense at every sparsity timed (empty where it never does); per network, the time of its convs run dense over that of the planner's choice and of the fastest kernels.",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const gpu = await ctx.gpu();
    const names = benchNetworks(ctx);
    const convs = names.flatMap((n) => networkConvs(n, zooGraph(n, ctx.seed)));
    const batches = ctx.batches ?? (full ? [1, 32] : [1]);
    const sparsities = ctx.sparsities ?? (full ? SPARSITIES : [0.5, 0.9]);
    const [warmup, iterations] = full ? [2, 7] : [1, 3];
    const results: BenchResult[] = [];
    const timed = new Map(batches.map((b) => [b, [] as TimedConv[]]));
    let done = 0;
    for (const l of convs) {
      const base = gaussian(
        l.weights.reduce((a, b) => a * b, 1),
        ctx.seed,
      );
      for (const batch of batches) {
        ctx.progress(done++, convs.length * batches.length, `${l.network} ${l.name} batch ${batch}`);
        const input = [batch, ...l.input.slice(1)];
        const geo = convGeometry(input, l.weights, l.params);
        const x = gpu.tensor(
          input,
          gaussian(
            input.reduce((a, b) => a * b, 1),
            ctx.seed + 1,
          ),
        );
        const row = {
          network: l.network,
          batch,
          count: l.count,
          shape: `${geo.c}x${geo.h}x${geo.w}->${geo.o} k${geo.kh}x${geo.kw} s${geo.sh} g${geo.groups}`,
        };
        const time = async (algorithm: ConvAlgorithm, sparsity: number) => {
          const weights = pruneByRate(base, sparsity).weights;
          const layer = new Conv2dLayer(gpu, { weights, shape: l.weights, ...l.params, algorithm });
          try {
            const t = await timeGpu(gpu, (r) => gpu.release(layer.encode(r, x)), warmup, iterations);
            results.push({
              table: 'conv-crossover',
              case: `${l.network} ${l.name}`,
              params: { ...row, algorithm, sparsity },
              metric: 'time',
              unit: 'ms',
              value: t.median,
              timing: t,
            });
            return t.median;
          } catch {
            return Number.POSITIVE_INFINITY;
          } finally {
            layer.destroy();
          }
        };
        const dense = await time('implicit-gemm', sparsities[0]!);
        const sparse = new Map(SPARSE.map((a) => [a, [] as number[]]));
        for (const s of sparsities) for (const a of SPARSE) sparse.get(a)!.push(await time(a, s));
        gpu.release(x);
        timed.get(batch)!.push({ network: l.network, count: l.count, geo, dense, sparse });
        // the fastest sparse kernel at each sparsity
        const best = sparsities.map((_, k) => Math.min(...SPARSE.map((a) => sparse.get(a)![k]!)));
        let k = sparsities.length;
        while (k > 0 && best[k - 1]! < dense) k--;
        results.push({
          table: 'conv-crossover',
          case: `${l.network} ${l.name}`,
          params: row,
          metric: 'break-even sparsity',
          unit: '',
          value: k < sparsities.length ? sparsities[k]! : Number.NaN,
        });
      }
    }
    for (const [batch, convsAt] of timed) results.push(...choiceOverDense(convsAt, sparsities, batch));
    ctx.progress(1, 1, 'done');
    return results;
  },
};
