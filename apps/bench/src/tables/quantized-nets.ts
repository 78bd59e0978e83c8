import { type Graph, optimize, WebGpuSession, ZOO } from '@zeroskip/runtime';
import { createModel, type ModelName, toGraph } from '@zeroskip/train';
import { measureInterleaved, profileSession, runFromUploadTensors } from '../measure.js';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';
import { seededInput, withBatch } from '../zoo-graphs.js';

/** The MNIST nets as the trainer exports them (seeded weights: the time does not depend on the values). */
function mnistGraph(name: ModelName, seed: number): Graph {
  const model = createModel(name, { seed });
  try {
    return optimize(toGraph(model));
  } finally {
    model.dispose();
  }
}

interface Pair {
  readonly name: string;
  readonly twin: string;
  readonly graph: (seed: number) => Graph;
  readonly batches: readonly number[];
}

function pairs(full: boolean): Pair[] {
  const size = full ? 224 : 32;
  const zoo = (name: string) => (seed: number) => optimize(ZOO[name]!.build({ seed, size }));
  const mnistBatches = full ? [1, 256] : [1, 16];
  return [
    ...(['binarynet', 'ternarynet', 'dorefa-w1a3'] as const).map((name) => ({
      name,
      twin: 'fp32',
      graph: (seed: number) => mnistGraph(name, seed),
      batches: mnistBatches,
    })),
    { name: 'fp32', twin: 'fp32', graph: (seed: number) => mnistGraph('fp32', seed), batches: mnistBatches },
    {
      name: `bireal-resnet-18 ${size}×${size}`,
      twin: `resnet-18 ${size}×${size}`,
      graph: zoo('bireal-resnet-18'),
      batches: full ? [1, 16] : [1],
    },
    {
      name: `resnet-18 ${size}×${size}`,
      twin: `resnet-18 ${size}×${size}`,
      graph: zoo('resnet-18'),
      batches: full ? [1, 16] : [1],
    },
  ];
}

export const quantizedNetsTable: BenchTable = {
  id: 'quantized-nets',
  title: 'Binary, ternary and DoReFa networks on the packed-bit path against their fp32 twins',
  reference:
    'goal: the binary MNIST net ≥ 4× faster than its fp32 twin at batch 1 and 256, and a binary ResNet-18 (Bi-Real) ≥ 4× faster than fp32 ResNet-18 at batch 1 (224×224).\nSeeded weights (time does not depend on them); auto plan. Wall time of session.run (upload, all layers, read-back), median, each net timed in turns with its twin and the other nets of that twin after the GPU clocks are raised, from an ordinary input array and from an upload tensor (session.uploadTensor) written before the clock starts; gpu ms from timestamp queries of one profiled run: each dispatch timed in its own pass (gpu), and the passes of the run as an untimed run records them (gpu, as run).',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const gpu = await ctx.gpu();
    const [warmup, iterations] = full ? [5, 30] : [1, 3];
    const results: BenchResult[] = [];
    const gpuMs = new Map<string, number>();
    const runGpuMs = new Map<string, number>();
    const wallMs = new Map<string, number>();
    const uploadWallMs = new Map<string, number>();
    const list = pairs(full);
    // each twin with the nets measured against it, at each of its batches: timed in turns
    const groups = [...new Set(list.map((p) => p.twin))].flatMap((twin) => {
      const members = list.filter((p) => p.twin === twin);
      return list.find((p) => p.name === twin)!.batches.map((batch) => ({ members, batch }));
    });
    const graphs = new Map(list.map((p) => [p.name, p.graph(ctx.seed)]));
    for (const [step, { members, batch }] of groups.entries()) {
      ctx.progress(step, groups.length, `${members.map((p) => p.name).join(', ')} batch ${batch}`);
      const runs = [];
      try {
        for (const p of members) {
          const graph = withBatch(graphs.get(p.name)!, batch);
          const feeds = { [graph.inputs[0]!.name]: seededInput(graph, ctx.seed + 1) };
          runs.push({ p, feeds, session: await WebGpuSession.create(graph, { gpu }) });
        }
        // each net from ordinary arrays, and from an upload tensor written beforehand (untimed)
        const timings = await measureInterleaved(
          runs.flatMap(({ session, feeds }) => [
            () => session.run(feeds),
            runFromUploadTensors(session, feeds),
          ]),
          { warmup, iterations, gpu },
        );
        for (const [k, { p, feeds, session }] of runs.entries()) {
          const [t, up] = [timings[2 * k]!, timings[2 * k + 1]!];
          const profile = await profileSession(gpu, session, feeds, 4);
          const key = `${p.name}|${batch}`;
          gpuMs.set(key, profile.gpuMs);
          runGpuMs.set(key, profile.runGpuMs);
          wallMs.set(key, t.median);
          uploadWallMs.set(key, up.median);
          results.push({
            table: 'quantized-nets',
            case: `${p.name} batch ${batch}`,
            params: {
              batch,
              ...profile.params,
              seed: ctx.seed,
            },
            metric: 'time',
            unit: 'ms',
            value: t.median,
            timing: { ...t, clock: 'wall' },
          });
          results.push({
            table: 'quantized-nets',
            case: `${p.name} batch ${batch}`,
            params: { batch, input: 'upload tensor', seed: ctx.seed },
            metric: 'time',
            unit: 'ms',
            value: up.median,
            timing: { ...up, clock: 'wall' },
          });
        }
      } finally {
        for (const { session } of runs) session.destroy();
      }
    }
    for (const p of list) {
      if (p.name === p.twin) continue;
      for (const batch of p.batches) {
        const [own, twin] = [`${p.name}|${batch}`, `${p.twin}|${batch}`];
        for (const [clock, times] of [
          ['gpu', gpuMs],
          ['gpu, as run', runGpuMs],
          ['wall', wallMs],
          ['wall, upload tensors', uploadWallMs],
        ] as const) {
          if (!times.has(own) || !times.has(twin)) continue;
          results.push({
            table: 'quantized-nets',
            case: `${p.name} batch ${batch}`,
            params: { over: p.twin, clock },
            metric: 'speedup',
            unit: '×',
            value: times.get(twin)! / times.get(own)!,
          });
        }
      }
    }
    ctx.progress(1, 1, 'done');
    return results;
  },
};
