import { requestDevice } from '@zeroskip/gpu';
import { compressModel, decodeZsk, encodeZsk, type Graph, WebGpuSession } from '@zeroskip/runtime';
import { summarize } from '../measure.js';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';
import { seededInput, zooGraph } from '../zoo-graphs.js';
import { PAPER_RATES, paperPruneTable } from './compression.js';

/** Cluster bits for networks the paper gives no rates for. */
const DEFAULT_CLUSTER_BITS = 5;

/** Deep Compression's per-layer pruning where the paper gives it, else 70% per layer with the first conv kept. */
export function pruneTableFor(name: string, graph: Graph): Record<string, number> {
  const paper = PAPER_RATES[name];
  if (paper) return paperPruneTable(graph, paper.kept);
  const layers = graph.nodes.filter((n) => n.op === 'Conv' || n.op === 'Gemm');
  return Object.fromEntries(layers.map((n, i) => [n.name, i === 0 ? 0 : 0.7]));
}

/** The phases of one cold load, in order; their sum is the time to ready. */
const PHASES = ['decode', 'session create', 'compile', 'first run'] as const;
type Phase = (typeof PHASES)[number];

/**
 * Model load: a Deep Compression .zsk (P+Q+H) from bytes to the first inference on the GPU, phase by
 * phase, each load on a new device so that no pipeline is cached in the process.
 */
export const loadTable: BenchTable = {
  id: 'load',
  title: 'Model load time (.zsk → ready on the GPU)',
  reference:
    "Goal: ResNet-50 ready within 1 s, VGG-16 within 2 s. AlexNet and VGG-16 compressed at Deep Compression's per-layer rates and bits, ResNet-50 and GoogLeNet at 70% per layer (first conv kept) with 5-bit clusters; all Huffman-coded (P+Q+H). Each load on a new device (lavapipe honours MESA_SHADER_CACHE_DISABLE=true). Decode: parse, CRC-check and Huffman-decode every tensor (CPU); sparse ones to CSR, expanded to dense only when a dense kernel reads them. Session create: WebGpuSession.create. Compile: session.compile, which prepares and uploads the weights while every pipeline compiles concurrently. First run: the first session.run after it. Ready: their sum. All wall time.",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const names = full
      ? [...Object.keys(PAPER_RATES), 'googlenet', 'resnet-50']
      : ['lenet-300-100', 'lenet-5'];
    const iterations = full ? 5 : 3;
    const results: BenchResult[] = [];
    for (const [i, name] of names.entries()) {
      ctx.progress(i, names.length, name);
      const graph = zooGraph(name, ctx.seed);
      const c = compressModel(graph, {
        pruneTable: pruneTableFor(name, graph),
        cluster: PAPER_RATES[name]?.bits ?? DEFAULT_CLUSTER_BITS,
        huffman: true,
      });
      const bytes = encodeZsk(c.graph, c.encodings, c.meta);
      const input = { [graph.inputs[0]!.name]: seededInput(graph, ctx.seed) };
      const times: Record<Phase | 'ready', number[]> = {
        decode: [],
        'session create': [],
        compile: [],
        'first run': [],
        ready: [],
      };
      let pipelines = 0;
      for (let k = 0; k < iterations; k++) {
        const gpu = await requestDevice();
        try {
          const marks = [performance.now()];
          const model = decodeZsk(bytes);
          marks.push(performance.now());
          const session = await WebGpuSession.create(model.graph, { gpu });
          marks.push(performance.now());
          pipelines = await session.compile(input);
          marks.push(performance.now());
          await session.run(input);
          marks.push(performance.now());
          session.destroy();
          PHASES.forEach((p, j) => {
            times[p].push(marks[j + 1]! - marks[j]!);
          });
          times.ready.push(marks[PHASES.length]! - marks[0]!);
        } finally {
          gpu.destroy();
        }
      }
      const params = { fileBytes: bytes.length, weights: c.total.params, seed: ctx.seed };
      const timed = (what: string, samples: readonly number[]): BenchResult => {
        const t = summarize(samples);
        return {
          table: 'load',
          case: `${name} ${what}`,
          params,
          metric: 'time',
          unit: 'ms',
          value: t.median,
          timing: { ...t, clock: 'wall' },
        };
      };
      results.push(
        ...PHASES.map((p) => timed(p, times[p])),
        timed('ready on the GPU', times.ready),
        {
          table: 'load',
          case: `${name} decode throughput`,
          params,
          metric: 'throughput',
          unit: 'M weights/s',
          value: c.total.params / summarize(times.decode).median / 1e3,
        },
        {
          table: 'load',
          case: `${name} pipelines compiled`,
          params,
          metric: 'count',
          unit: 'pipelines',
          value: pipelines,
        },
      );
    }
    ctx.progress(names.length, names.length, 'done');
    return results;
  },
};
