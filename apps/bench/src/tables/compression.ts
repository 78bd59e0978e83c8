import {
  type CompressOptions,
  compressModel,
  encodeZsk,
  type Graph,
  WEIGHT_LAYER_OPS,
} from '@zeroskip/runtime';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';
import { zooGraph } from '../zoo-graphs.js';

/** Deep Compression (Han et al., ICLR 2016) Tables 2–5: kept weights per layer, in network order. */
export const PAPER_RATES: Readonly<
  Record<
    string,
    { readonly kept: readonly number[]; readonly bits: { conv: number; fc: number }; readonly ratio: number }
  >
> = {
  'lenet-300-100': { kept: [0.08, 0.09, 0.26], bits: { conv: 6, fc: 6 }, ratio: 40 },
  'lenet-5': { kept: [0.66, 0.12, 0.08, 0.19], bits: { conv: 8, fc: 5 }, ratio: 39 },
  alexnet: { kept: [0.84, 0.38, 0.35, 0.37, 0.37, 0.09, 0.09, 0.25], bits: { conv: 8, fc: 5 }, ratio: 35 },
  'vgg-16': {
    kept: [0.58, 0.22, 0.34, 0.36, 0.53, 0.24, 0.42, 0.32, 0.27, 0.34, 0.35, 0.29, 0.36, 0.04, 0.04, 0.23],
    bits: { conv: 8, fc: 5 },
    ratio: 49,
  },
};

/** The paper's per-layer pruning as a table by node name for a zoo graph. */
export function paperPruneTable(g: Graph, kept: readonly number[]): Record<string, number> {
  const layers = g.nodes.filter((n) => WEIGHT_LAYER_OPS.has(n.op));
  if (layers.length !== kept.length)
    throw new Error(`${layers.length} weight layers but ${kept.length} rates.`);
  return Object.fromEntries(layers.map((n, i) => [n.name, 1 - kept[i]!]));
}

export const compressionTable: BenchTable = {
  id: 'compression',
  title: 'Compression (Deep Compression Table 1 layout)',
  reference:
    "paper (Deep Compression, Han et al.): LeNet-300-100 40×, LeNet-5 39×, AlexNet 35×, VGG-16 49× (P+Q+H).\nHere the weights are seeded, not trained, and pruned by magnitude at the paper's per-layer rates with its bits (conv 8, fc 5; LeNet-300-100 6); ratios are of the whole .zsk file (graph, biases, codebooks and tables included) to f32 weights.",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const names = ctx.suite === 'full' ? Object.keys(PAPER_RATES) : ['lenet-300-100', 'lenet-5'];
    const results: BenchResult[] = [];
    for (const [i, name] of names.entries()) {
      ctx.progress(i, names.length, name);
      const paper = PAPER_RATES[name]!;
      const graph = zooGraph(name, ctx.seed);
      const pruneTable = paperPruneTable(graph, paper.kept);
      const stages: [string, CompressOptions][] = [
        ['P', { pruneTable }],
        ['P+Q', { pruneTable, cluster: paper.bits }],
        ['P+Q+H', { pruneTable, cluster: paper.bits, huffman: true }],
      ];
      for (const [stage, options] of stages) {
        const c = compressModel(graph, options);
        const file = encodeZsk(c.graph, c.encodings, c.meta).length;
        results.push({
          table: 'compression',
          case: `${name} ${stage}`,
          params: {
            weights: c.total.params,
            kept: +(c.rows.reduce((n, r) => n + r.kept * r.params, 0) / c.total.params).toFixed(4),
            fileBytes: file,
            paper: `${paper.ratio}×`,
            seed: ctx.seed,
          },
          metric: 'compression ratio',
          unit: '×',
          value: c.total.denseBytes / file,
        });
      }
    }
    ctx.progress(names.length, names.length, 'done');
    return results;
  },
};
