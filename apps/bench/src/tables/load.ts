import { compressModel, decodeZsk, encodeZsk, WebGpuSession } from '@zeroskip/runtime';
import { summarize } from '../measure.js';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';
import { seededInput, zooGraph } from '../zoo-graphs.js';
import { PAPER_RATES, paperPruneTable } from './compression.js';

/** Model load: a Deep Compression .zsk (P+Q+H) from bytes to decoded graph, then to the first inference on the GPU. */
export const loadTable: BenchTable = {
  id: 'load',
  title: 'Model load time (.zsk → ready on the GPU)',
  reference:
    "Networks compressed at Deep Compression's per-layer rates and bits (P+Q+H). Decode: parse, CRC-check, Huffman-decode and expand every tensor (CPU, wall). Ready: decode + WebGPU session + first inference, which uploads the weights and builds the pipelines (wall).",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const gpu = await ctx.gpu();
    const names = full ? Object.keys(PAPER_RATES) : ['lenet-300-100', 'lenet-5'];
    const iterations = full ? 5 : 3;
    const results: BenchResult[] = [];
    for (const [i, name] of names.entries()) {
      ctx.progress(i, names.length, name);
      const paper = PAPER_RATES[name]!;
      const graph = zooGraph(name, ctx.seed);
      const c = compressModel(graph, {
        pruneTable: paperPruneTable(graph, paper.kept),
        cluster: paper.bits,
        huffman: true,
      });
      const bytes = encodeZsk(c.graph, c.encodings, c.meta);
      const input = seededInput(graph, ctx.seed);
      const decode: number[] = [];
      const ready: number[] = [];
      for (let k = 0; k < iterations; k++) {
        const t0 = performance.now();
        const model = decodeZsk(bytes);
        const t1 = performance.now();
        const session = await WebGpuSession.create(model.graph, { gpu });
        await session.run({ input });
        ready.push(performance.now() - t0);
        decode.push(t1 - t0);
        session.destroy();
      }
      const params = { fileBytes: bytes.length, weights: c.total.params, seed: ctx.seed };
      const d = summarize(decode);
      const r = summarize(ready);
      results.push(
        {
          table: 'load',
          case: `${name} decode`,
          params,
          metric: 'time',
          unit: 'ms',
          value: d.median,
          timing: { ...d, clock: 'wall' },
        },
        {
          table: 'load',
          case: `${name} decode throughput`,
          params,
          metric: 'throughput',
          unit: 'M weights/s',
          value: c.total.params / d.median / 1e3,
        },
        {
          table: 'load',
          case: `${name} ready on the GPU`,
          params,
          metric: 'time',
          unit: 'ms',
          value: r.median,
          timing: { ...r, clock: 'wall' },
        },
      );
    }
    ctx.progress(names.length, names.length, 'done');
    return results;
  },
};
