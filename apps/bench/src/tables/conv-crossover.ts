import { Conv2dLayer, type ConvAlgorithm, type ConvParams, convGeometry } from '@zeroskip/gpu';
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
/** The sparse kernels the planner chooses between. */
const SPARSE: readonly ConvAlgorithm[] = ['sparse-tiled', 'direct-sparse'];

/**
 * From which sparsity on sparse beats dense, layer by layer, on the networks' own convs: the data the
 * planner's sparse/dense rule is fitted to, and the check of that rule.
 */
export const convCrossoverTable: BenchTable = {
  id: 'conv-crossover',
  title: 'Where sparse convolution overtakes dense, per conv of each network',
  reference:
    "Each distinct conv of the zoo networks (seeded Gaussian weights pruned by magnitude), GPU time of the cost model's dense kernel and of each sparse kernel at each sparsity; 'break-even' is the lowest sparsity from which the faster sparse kernel beats dense at every sparsity timed (empty where it never does).",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const gpu = await ctx.gpu();
    const names = benchNetworks(ctx);
    const convs = names.flatMap((n) => networkConvs(n, zooGraph(n, ctx.seed)));
    const batches = ctx.batches ?? (full ? [1, 32] : [1]);
    const sparsities = ctx.sparsities ?? (full ? SPARSITIES : [0.5, 0.9]);
    const [warmup, iterations] = full ? [2, 7] : [1, 3];
    const results: BenchResult[] = [];
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
        // the fastest sparse kernel at each sparsity, timed one after the other
        const best: number[] = [];
        for (const s of sparsities) {
          let t = Number.POSITIVE_INFINITY;
          for (const a of SPARSE) t = Math.min(t, await time(a, s));
          best.push(t);
        }
        gpu.release(x);
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
    ctx.progress(1, 1, 'done');
    return results;
  },
};
