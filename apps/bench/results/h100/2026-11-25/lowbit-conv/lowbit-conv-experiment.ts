// Convs on ternary or binary weights with float activations: the tiled GEMM on their bit planes
// ('conv-lowbit') against the same GEMM on f32 weights, per layer and whole network, in one process.
// Per case: the auto plan's kernels; tuning's per-candidate GPU time of each conv that has the
// bit-plane candidate (median of 9, one pass per dispatch); and the whole run's wall time (median of
// ROUNDS, replayed from an upload tensor in turns after the GPU's clocks are raised) and GPU time as run
// for the auto plan and the dense plan (f32 GEMMs). Cases: the shipped MNIST TernaryNet (ZSK names the
// file), and ResNet-18 and VGG-16 ternarized (TWN, exact Δ*; first and last layers float) with
// compressModel. Bundled with esbuild, webgpu external.
import { readFileSync } from 'node:fs';
import { heatGpu } from '../../../../src/gpu-clocks.js';
import { seededInput, withBatch } from '../../../../src/zoo-graphs.js';
import { requestDevice } from '@zeroskip/gpu';
import { compressModel, decodeZsk, type Graph, optimize, type PlanMode, WebGpuSession, ZOO } from '@zeroskip/runtime';

const LOCAL = !!process.env.LOCAL;
const ROUNDS = LOCAL ? 3 : Number(process.env.ROUNDS ?? 21);
const CASES = (process.env.CASES ?? 'ternarynet@1,ternarynet@256,resnet-18@1,resnet-18@32').split(',');
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

function graphOf(net: string, batch: number): Graph {
  if (net === 'ternarynet') return withBatch(decodeZsk(readFileSync(process.env.ZSK ?? 'ternarynet.zsk')).graph, batch);
  const g = optimize(ZOO[net]!.build({ seed: 42, ...(LOCAL ? { size: 32 } : {}) }));
  return withBatch(compressModel(g, { ternary: 'all' }).graph, batch);
}

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  for (const c of CASES) {
    const [net, b] = c.split('@') as [string, string];
    const graph = graphOf(net, Number(b));
    const input = seededInput(graph, 43);
    const feeds = { [graph.inputs[0]!.name]: input };
    const sessions = new Map<PlanMode, WebGpuSession>();
    for (const plan of ['auto', 'dense'] as PlanMode[]) sessions.set(plan, await WebGpuSession.create(graph, { gpu, plan }));
    const auto = sessions.get('auto')!;
    const kernels: Record<string, number> = {};
    for (const e of auto.plan) kernels[e.kernel] = (kernels[e.kernel] ?? 0) + 1;
    const stats: Record<string, number[]> = {};
    const add = (k: string, x: number) => (stats[k] ??= []).push(x);
    for (const [plan, s] of sessions)
      for (let i = 0; i < 5; i++) {
        await heatGpu(gpu);
        add(`${plan} gpuMsAsRun`, (await s.profile(feeds)).runGpuMs);
      }
    for (let i = 0; i < ROUNDS; i++) {
      await heatGpu(gpu);
      for (const [plan, s] of sessions) {
        const up = s.uploadTensor(input.shape);
        (up.data as Float32Array).set(input.data as Float32Array);
        const t0 = performance.now();
        await s.run({ [graph.inputs[0]!.name]: up });
        add(`${plan} wall`, performance.now() - t0);
      }
    }
    const row = Object.fromEntries(Object.entries(stats).map(([k, xs]) => [k, Number(median(xs).toFixed(4))]));
    console.log(JSON.stringify({ case: c, kernels, ...row }));
    // per layer: tuning times every candidate of every node on this input
    const tuned = await WebGpuSession.create(graph, { gpu, plan: 'auto' });
    await heatGpu(gpu);
    await tuned.tune(feeds, { iterations: 9 });
    for (const e of tuned.plan) {
      const t = e.tuned;
      if (!t || t === 'cache' || !('conv-lowbit' in t)) continue;
      const f32 = Object.entries(t).filter(([k]) => k === 'implicit-gemm' || k.startsWith('implicit-gemm:gemm-'));
      const bestF32 = f32.reduce((a, x) => (x[1] < a[1] ? x : a), ['none', Number.POSITIVE_INFINITY]);
      console.log(
        JSON.stringify({
          case: c,
          layer: e.node,
          autoKernel: auto.plan.find((p) => p.node === e.node)?.kernel,
          lowbitMs: t['conv-lowbit'],
          gemmMs: t['implicit-gemm'],
          bestF32Gemm: bestF32[0],
          bestF32GemmMs: bestF32[1],
          tunedKernel: e.kernel,
          tunedMs: t[e.kernel],
        }),
      );
    }
    tuned.destroy();
    for (const s of sessions.values()) s.destroy();
  }
  gpu.destroy();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
