// A pool read only by a 1×1 conv, as one PoolConv node (optimize() at this commit) against the pool and
// the conv as two nodes (the same graph with each PoolConv written back as its parts), in one process:
// both graphs' sessions under each plan, replayed from an upload tensor in turns after the GPU's clocks
// are raised. Per session: the wall time of a run (median of ROUNDS), the GPU time of a run's passes
// as run and one pass per dispatch (median of 5 profiles), the dispatches recorded, and the largest
// difference between the two graphs' outputs. CASES name 'network@batch' (pruned as the networks table
// prunes AlexNet, GoogLeNet, ResNet-50 and VGG-16; other zoo networks seeded at 224²). Bundled with
// esbuild, webgpu external.
import { heatGpu } from '../../../../src/gpu-clocks.js';
import { pruned } from '../../../../src/tables/networks.js';
import { seededInput, withBatch } from '../../../../src/zoo-graphs.js';
import { requestDevice } from '@zeroskip/gpu';
import { type Graph, type GraphNode, optimize, type PlanMode, WebGpuSession, ZOO } from '@zeroskip/runtime';

const PRUNED = ['alexnet', 'googlenet', 'resnet-50', 'vgg-16'];
const LOCAL = !!process.env.LOCAL;
const ROUNDS = LOCAL ? 3 : Number(process.env.ROUNDS ?? 41);
const CASES = (process.env.CASES ?? 'googlenet@1,bireal-resnet-18@1,squeezenet-1.1@1,googlenet@32').split(',');
const PLANS = (process.env.PLANS ?? 'auto,dense').split(',') as PlanMode[];
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

function graphOf(net: string, batch: number): Graph {
  if (PRUNED.includes(net)) return pruned(net, 42, batch);
  return withBatch(optimize(ZOO[net]!.build({ seed: 42, ...(LOCAL ? { size: 64 } : {}) })), batch);
}

/** Each PoolConv as the pool and the Conv it came from (the runtime's own attributes: input_pool, pool_*). */
function unfused(g: Graph): Graph {
  const nodes = g.nodes.flatMap((n): GraphNode[] => {
    if (n.op !== 'PoolConv') return [n];
    const pooled = `${n.outputs[0]}__pooled`;
    const poolAttrs = Object.entries(n.attrs).filter(([k]) => k.startsWith('pool_'));
    const convAttrs = Object.entries(n.attrs).filter(([k]) => !k.startsWith('pool_') && k !== 'input_pool');
    return [
      {
        op: n.attrs.input_pool as string,
        name: `${n.name}__pool`,
        inputs: [n.inputs[0]!],
        outputs: [pooled],
        attrs: Object.fromEntries(poolAttrs.map(([k, v]) => [k.slice('pool_'.length), v])),
      },
      { op: 'Conv', name: n.name, inputs: [pooled, ...n.inputs.slice(1)], outputs: n.outputs, attrs: Object.fromEntries(convAttrs) },
    ];
  });
  return { ...g, nodes };
}

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  // dispatches recorded by a run: counted at the compute pass encoder's prototype
  const probe = gpu.device.createCommandEncoder();
  const pass = probe.beginComputePass();
  const proto = Object.getPrototypeOf(pass) as GPUComputePassEncoder;
  pass.end();
  probe.finish();
  const dispatch = proto.dispatchWorkgroups;
  let dispatches = 0;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args: Parameters<GPUComputePassEncoder['dispatchWorkgroups']>) {
    dispatches++;
    return dispatch.apply(this, args);
  };
  for (const c of CASES) {
    const [net, b] = c.split('@') as [string, string];
    const fused = graphOf(net, Number(b));
    const graphs = { fused, unfused: unfused(fused) };
    const input = seededInput(fused, 43);
    const sessions: { key: string; graph: string; plan: PlanMode; s: WebGpuSession }[] = [];
    for (const plan of PLANS)
      for (const [graph, g] of Object.entries(graphs))
        sessions.push({ key: `${plan} ${graph}`, graph, plan, s: await WebGpuSession.create(g, { gpu, plan }) });
    const outputs = new Map<string, Float32Array>();
    const kernelOf = new Map<string, string>();
    const stats = new Map<string, Record<string, number[]>>();
    const add = (k: string, m: string, x: number) => ((stats.get(k) ?? stats.set(k, {}).get(k)!)[m] ??= []).push(x);
    for (const { key, s } of sessions) {
      const out = Object.values(await s.run({ input }))[0]!;
      outputs.set(key, out.data as Float32Array);
      for (let i = 0; i < 5; i++) {
        await heatGpu(gpu);
        const p = await s.profile({ input });
        add(key, 'gpuMsAsRun', p.runGpuMs);
        add(key, 'gpuMs', p.gpuMs);
        for (const n of p.nodes) {
          add(`${key} node`, n.node, n.ms);
          kernelOf.set(`${key} ${n.node}`, n.kernel);
        }
      }
      dispatches = 0;
      await s.run({ input });
      add(key, 'dispatches', dispatches);
    }
    for (let i = 0; i < ROUNDS; i++) {
      await heatGpu(gpu);
      for (const { key, s } of sessions) {
        const up = s.uploadTensor(input.shape);
        (up.data as Float32Array).set(input.data as Float32Array);
        const t0 = performance.now();
        await s.run({ input: up });
        add(key, 'wall', performance.now() - t0);
      }
    }
    // per fused layer: its time against its pool's and its conv's (one pass per dispatch, median of 5)
    const nodeMs = (key: string, node: string) => median(stats.get(`${key} node`)![node] ?? [Number.NaN]);
    for (const plan of PLANS)
      for (const n of fused.nodes.filter((n) => n.op === 'PoolConv')) {
        const [f, u] = [`${plan} fused`, `${plan} unfused`];
        console.log(
          JSON.stringify({
            case: c,
            plan,
            layer: n.name,
            pool: `${n.attrs.input_pool} ${JSON.stringify(n.attrs.pool_kernel_shape)}/${JSON.stringify(n.attrs.pool_strides ?? [1, 1])}`,
            fusedKernel: kernelOf.get(`${f} ${n.name}`),
            fusedMs: Number(nodeMs(f, n.name).toFixed(4)),
            convKernel: kernelOf.get(`${u} ${n.name}`),
            poolMs: Number(nodeMs(u, `${n.name}__pool`).toFixed(4)),
            convMs: Number(nodeMs(u, n.name).toFixed(4)),
          }),
        );
      }
    for (const { key, graph, plan, s } of sessions) {
      const want = outputs.get(`${plan} unfused`)!;
      const got = outputs.get(key)!;
      let diff = 0;
      for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
      const row = Object.fromEntries(
        Object.entries(stats.get(key)!).map(([k, xs]) => [k, Number(median(xs).toFixed(4))]),
      );
      const kernels: Record<string, number> = {};
      for (const e of s.plan) kernels[e.kernel] = (kernels[e.kernel] ?? 0) + 1;
      console.log(JSON.stringify({ case: c, plan, graph, ...row, maxDiffVsUnfused: diff, kernels }));
      s.destroy();
    }
  }
  gpu.destroy();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
