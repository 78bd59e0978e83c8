import { compressModel, type Graph, type PlanMode, WebGpuSession } from '@zeroskip/runtime';
import { measureInterleaved, profileSession, runFromUploadTensors } from '../measure.js';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';
import { benchNetworks, seededInput, withBatch, zooGraph } from '../zoo-graphs.js';
import { pruneTableFor } from './load.js';

/** The pruned networks: Deep Compression's per-layer rates where the paper gives them, else 70% (first conv kept). */
export function pruned(name: string, seed: number, batch: number): Graph {
  const graph = zooGraph(name, seed);
  return withBatch(compressModel(graph, { pruneTable: pruneTableFor(name, graph) }).graph, batch);
}

const PLANS = ['dense', 'auto', 'tuned'] as const;

export const networksTable: BenchTable = {
  id: 'networks',
  title: 'Whole-network inference on WebGPU: dense vs auto vs tuned plans',
  reference:
    "paper (Escort, Fang et al.): 1.38× (batch 1) and 1.60× (batch 32) end to end over dense.\nAlexNet and VGG-16 pruned at Deep Compression's per-layer rates, GoogLeNet and ResNet-50 at 70% per layer (first conv unpruned); seeded weights. Wall time of session.run (input upload, all layers, output read-back), median, the three plans run in turns after the GPU's clocks are raised (gpu-clocks.ts) and a 100 ms warm-up, with the auto plan also run from an upload tensor (session.uploadTensor) written before the clock starts; 'gpu ms' is the GPU time of one run's dispatches from timestamp queries (per kernel beside it), 'record ms' the host time to record them.",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const gpu = await ctx.gpu();
    const names = benchNetworks(ctx);
    const batches = ctx.batches ?? (full ? [1, 32] : [1]);
    const [warmup, iterations] = full ? [3, 15] : [1, 3];
    const results: BenchResult[] = [];
    let step = 0;
    for (const name of names) {
      for (const batch of batches) {
        ctx.progress(step++, names.length * batches.length, `${name} batch ${batch}`);
        const graph = pruned(name, ctx.seed, batch);
        const input = seededInput(graph, ctx.seed + 1);
        const times: Record<string, number> = {};
        const sessions = new Map<string, WebGpuSession>();
        try {
          for (const plan of PLANS) {
            try {
              const session = await WebGpuSession.create(graph, {
                gpu,
                plan: plan === 'tuned' ? 'auto' : (plan as PlanMode),
              });
              sessions.set(plan, session);
              if (plan === 'tuned') await session.tune({ input }, { iterations: 5 });
            } catch (e) {
              results.push({
                table: 'networks',
                case: `${name} batch ${batch}`,
                params: { plan, batch, skipped: (e as Error).message },
                metric: 'time',
                unit: 'ms',
                value: Number.NaN,
              });
            }
          }
          // the plans in turns, so that the GPU's clock state is the same for each, and the auto plan
          // also from an upload tensor written before the clock starts
          const plans = [...sessions.keys()];
          const auto = sessions.get('auto');
          const fromUploadTensor = auto && runFromUploadTensors(auto, { input });
          const timings = await measureInterleaved(
            [
              ...plans.map((plan) => () => sessions.get(plan)!.run({ input })),
              ...(fromUploadTensor ? [fromUploadTensor] : []),
            ],
            { warmup, iterations, gpu },
          );
          if (fromUploadTensor) {
            const t = timings[plans.length]!;
            results.push({
              table: 'networks',
              case: `${name} batch ${batch}`,
              params: { plan: 'auto', batch, input: 'upload tensor', seed: ctx.seed },
              metric: 'time',
              unit: 'ms',
              value: t.median,
              timing: { ...t, clock: 'wall' },
            });
          }
          for (const [k, plan] of plans.entries()) {
            const session = sessions.get(plan)!;
            const t = timings[k]!;
            times[plan] = t.median;
            const profile = await profileSession(gpu, session, { input }, 3);
            results.push({
              table: 'networks',
              case: `${name} batch ${batch}`,
              params: {
                plan,
                batch,
                ...profile.params,
                seed: ctx.seed,
              },
              metric: 'time',
              unit: 'ms',
              value: t.median,
              timing: { ...t, clock: 'wall' },
            });
          }
        } finally {
          for (const session of sessions.values()) session.destroy();
        }
        for (const plan of ['auto', 'tuned']) {
          if (times.dense && times[plan])
            results.push({
              table: 'networks',
              case: `${name} batch ${batch}`,
              params: { plan, batch, over: 'dense' },
              metric: 'speedup',
              unit: '×',
              value: times.dense / times[plan]!,
            });
        }
      }
    }
    ctx.progress(1, 1, 'done');
    return results;
  },
};
