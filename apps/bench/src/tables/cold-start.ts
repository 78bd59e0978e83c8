import { requestDevice } from '@zeroskip/gpu';
import { type Graph, optimize, type Tensor, WebGpuSession, ZOO } from '@zeroskip/runtime';
import { measureWall } from '../measure.js';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';
import { seededInput } from '../zoo-graphs.js';

/** Input side of the non-MNIST networks in the quick suite (small, so a software adapter finishes). */
const QUICK_SIZE = 64;

/** A cold start that compiles before running, on its own new device: its phases' wall times. */
async function compiledStart(graph: Graph, input: Tensor): Promise<[string, number][]> {
  const gpu = await requestDevice();
  try {
    const inputs = { [graph.inputs[0]!.name]: input };
    const t0 = performance.now();
    const session = await WebGpuSession.create(graph, { gpu });
    const t1 = performance.now();
    await session.compile(inputs);
    const t2 = performance.now();
    await session.run(inputs);
    const t3 = performance.now();
    session.destroy();
    return [
      ['compile', t2 - t1],
      ['first run after compile', t3 - t2],
      ['ready with compile', t3 - t0],
    ];
  } finally {
    gpu.destroy();
  }
}

/**
 * Cold start of the WebGPU executor per zoo network, each on a fresh device (an empty pipeline cache):
 * pipelines compiled by the first inference, its wall time (session creation, weight upload, pipeline
 * builds, the run) against steady state, and what a second batch size adds.
 */
export const coldStartTable: BenchTable = {
  id: 'cold-start',
  title: 'Cold start: pipelines compiled and first-run time per network',
  reference:
    'Each network on a new device, so no pipeline is cached in the process (the driver may still keep its own on-disk shader cache: lavapipe honours MESA_SHADER_CACHE_DISABLE=true). First run: WebGpuSession.create + the first run() at batch 1 (wall), which builds each pipeline as it first dispatches. Compiled: on another new device, WebGpuSession.create + session.compile (weights uploaded, pipelines built concurrently), then the first run(); ready with compile is their sum (wall each). Steady: median run() after the plain first run. Batch 4: pipelines the first batch-4 run adds, and its wall time.',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const names = full
      ? [
          'lenet-5',
          'alexnet',
          'vgg-16',
          'googlenet',
          'resnet-18',
          'resnet-50',
          'mobilenet-v2',
          'shufflenet-v2',
        ]
      : ['lenet-5', 'shufflenet-v2'];
    const results: BenchResult[] = [];
    for (const [i, name] of names.entries()) {
      ctx.progress(i, names.length, name);
      const entry = ZOO[name]!;
      const built = entry.build({
        seed: ctx.seed,
        ...(full || name.startsWith('lenet') ? {} : { size: QUICK_SIZE }),
      });
      // a symbolic batch before optimizing (which folds shapes it knows), so one session runs batch 1 and 4
      const graph = optimize({
        ...built,
        inputs: built.inputs.map((g) => ({ ...g, shape: [-1, ...g.shape.slice(1)] })),
      });
      const gpu = await requestDevice();
      try {
        const input = seededInput(built, ctx.seed);
        const t0 = performance.now();
        const session = await WebGpuSession.create(graph, { gpu });
        await session.run({ input });
        const first = performance.now() - t0;
        const pipelines = gpu.pipelineCount;
        const steady = await measureWall(() => session.run({ input }), {
          warmup: 1,
          iterations: full ? 10 : 3,
        });
        const batch4 = seededInput(
          { ...built, inputs: built.inputs.map((g) => ({ ...g, shape: [4, ...g.shape.slice(1)] })) },
          ctx.seed,
        );
        const params = { network: name, input: built.inputs[0]!.shape.join('x') };
        const row = (what: string, metric: string, unit: string, value: number, extra = {}) => ({
          table: 'cold-start',
          case: `${name} ${what}`,
          params: { ...params, ...extra },
          metric,
          unit,
          value,
        });
        results.push(
          row('pipelines, first run', 'count', 'pipelines', pipelines),
          row('first run', 'time', 'ms', first),
          { ...row('steady run', 'time', 'ms', steady.median), timing: { ...steady, clock: 'wall' } },
          ...(await compiledStart(graph, input)).map(([what, ms]) => row(what, 'time', 'ms', ms)),
        );
        try {
          const t1 = performance.now();
          await session.run({ input: batch4 });
          const firstBatch4 = performance.now() - t1;
          results.push(
            row('pipelines added by batch 4', 'count', 'pipelines', gpu.pipelineCount - pipelines),
            row('first run at batch 4', 'time', 'ms', firstBatch4),
          );
        } catch (e) {
          results.push(
            row('first run at batch 4', 'time', 'ms', Number.NaN, { skipped: (e as Error).message }),
          );
        }
        session.destroy();
      } finally {
        gpu.destroy();
      }
    }
    ctx.progress(names.length, names.length, 'done');
    return results;
  },
};
