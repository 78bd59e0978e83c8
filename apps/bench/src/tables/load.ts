import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressModel, encodeZsk, type Graph, type Tensor, WEIGHT_LAYER_OPS, ZOO } from '@zeroskip/runtime';
import { Child, scriptAt } from '../child-process.js';
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
  const layers = graph.nodes.filter((n) => WEIGHT_LAYER_OPS.has(n.op));
  return Object.fromEntries(layers.map((n, i) => [n.name, i === 0 ? 0 : 0.7]));
}

/** A zoo network's .zsk: compressed by the quantization that defines it where it has one, else P+Q+H. */
function zooZsk(name: string, graph: Graph): { bytes: Uint8Array; weights: number } {
  const c = compressModel(
    graph,
    ZOO[name]!.compression ?? {
      pruneTable: pruneTableFor(name, graph),
      cluster: PAPER_RATES[name]?.bits ?? DEFAULT_CLUSTER_BITS,
      huffman: true,
    },
  );
  return { bytes: encodeZsk(c.graph, c.encodings, c.meta), weights: c.total.params };
}

/** The phases of one cold load, in order; their sum is the time to ready. */
const PHASES = ['decode', 'session create', 'compile', 'first run'] as const;
type Phase = (typeof PHASES)[number];

type LoadReply = { phases: number[]; pipelines: number } | { reason: string };

/** Far above a large network's load on a software adapter: only a stall reaches it. */
const LOAD_TIMEOUT_MS = 600_000;

/** One cold load of the .zsk in `file` in a new process (load-child.mjs): each phase's wall time. */
export async function coldLoad(file: string, inputName: string, input: Tensor): Promise<LoadReply> {
  // beside this module when run from source, under tables/ beside the bundle that inlines it otherwise
  const script = scriptAt([
    new URL('./load-child.mjs', import.meta.url),
    new URL('./tables/load-child.js', import.meta.url),
  ]);
  const child = Child.start<LoadReply>(script, 'the load process', LOAD_TIMEOUT_MS);
  if ('reason' in child) return child;
  try {
    return await child.ask({ file, inputName, shape: input.shape, data: input.data });
  } finally {
    child.kill();
  }
}

/**
 * Model load: a Deep Compression .zsk (P+Q+H) from bytes to the first inference on the GPU, phase by
 * phase, each load in a new process on a new device, as a user's application starts.
 */
export const loadTable: BenchTable = {
  id: 'load',
  title: 'Model load time (.zsk → ready on the GPU)',
  reference:
    "Goal: ResNet-50 ready within 1 s, VGG-16 within 2 s. Every zoo network (full suite): LeNets, AlexNet and VGG-16 compressed at Deep Compression's per-layer rates and bits, the other float networks at 70% per layer (first conv kept) with 5-bit clusters, all Huffman-coded (P+Q+H); the binary, ternary and DoReFa MNIST nets by the quantization that defines them, as `zeroskip zoo` writes them (Bi-Real ResNet-18's binary convolutions are left as they are: P+Q+H compresses its real layers). Each load in a new process (the .zsk bytes read from a file before the clock starts) on a new device, so that no pipeline, JIT state or heap of an earlier load or table is counted (lavapipe honours MESA_SHADER_CACHE_DISABLE=true; a GPU driver's own on-disk shader cache may still hold earlier builds). Decode: decodeZskAsync, which parses and CRC-checks the file and Huffman-decodes every tensor (CPU), the sparse ones on worker threads (its default: up to 4 workers beside the calling thread, which decodes too, for 2 MiB of payloads or more); sparse ones to CSR, expanded to dense only when a dense kernel reads them. Session create: WebGpuSession.create. Compile: session.compile, which prepares and uploads the weights while every pipeline compiles concurrently. First run: the first session.run after it. Ready: their sum. All wall time.",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const names = ctx.networks ?? (full ? Object.keys(ZOO) : ['lenet-300-100', 'lenet-5']);
    const iterations = full ? 5 : 3;
    const results: BenchResult[] = [];
    for (const [i, name] of names.entries()) {
      ctx.progress(i, names.length, name);
      const graph = zooGraph(name, ctx.seed);
      const { bytes, weights } = zooZsk(name, graph);
      const input = seededInput(graph, ctx.seed);
      const times: Record<Phase | 'ready', number[]> = {
        decode: [],
        'session create': [],
        compile: [],
        'first run': [],
        ready: [],
      };
      const dir = await mkdtemp(join(tmpdir(), 'zeroskip-load-'));
      const file = join(dir, `${name}.zsk`);
      await writeFile(file, bytes);
      let pipelines = 0;
      try {
        for (let k = 0; k < iterations; k++) {
          const r = await coldLoad(file, graph.inputs[0]!.name, input);
          if ('reason' in r) throw new Error(`${name}: ${r.reason}`);
          PHASES.forEach((p, j) => {
            times[p].push(r.phases[j]!);
          });
          times.ready.push(r.phases.reduce((a, b) => a + b, 0));
          pipelines = r.pipelines;
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const params = { fileBytes: bytes.length, weights, seed: ctx.seed };
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
          value: weights / summarize(times.decode).median / 1e3,
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
