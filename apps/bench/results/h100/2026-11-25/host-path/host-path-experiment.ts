// Where a batch-1 run's wall time goes beyond its GPU time: each pruned network's auto plan, replayed
// from an upload tensor, with the queue's submits and the buffers' map requests timed from the host.
// Per run: the host time until the first and the last submit, the time spent inside submit, and the
// tail from the last submit to the outputs in hand; beside the GPU time of the run's passes as run.
// Variants patch the WebGPU objects, not the runtime: 'one-submit' holds command buffers back until
// the run maps its outputs, 'no-scopes' makes error scopes free. A variant 'F/E' sets
// globalThis.__zsSubmit = [F, E], which an experimental build of the recorder (not committed) reads as
// dispatches before its first submission and between later ones ('A/B/C': the chunks' sizes, the last
// repeated); a variant prefixed 'own ' sends a replay's input in a submission of its own, as b44d7a0
// did (globalThis.__zsOwnUpload, read by the same build). NETS may name any zoo network. Bundled with
// esbuild, webgpu external.
import { heatGpu } from '../../../../src/gpu-clocks.js';
import { pruned } from '../../../../src/tables/networks.js';
import { seededInput } from '../../../../src/zoo-graphs.js';
import { requestDevice } from '@zeroskip/gpu';
import { type Graph, optimize, WebGpuSession, ZOO } from '@zeroskip/runtime';

const PRUNED = ['alexnet', 'googlenet', 'resnet-50', 'vgg-16'];

/** The pruned networks as the networks table prunes them; other zoo networks seeded, at 224² where they take a size. */
function graphOf(net: string): Graph {
  if (PRUNED.includes(net)) return pruned(net, 42, 1);
  return optimize(ZOO[net]!.build({ seed: 42, size: 224 }));
}

const LOCAL = !!process.env.LOCAL;
const ROUNDS = LOCAL ? 3 : 41;
const NETS = (process.env.NETS ?? 'alexnet,resnet-50,googlenet,vgg-16').split(',');
const VARIANTS = (process.env.VARIANTS ?? 'plain,one-submit,no-scopes').split(',');
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

interface Marks {
  submits: [number, number][];
  maps: number[];
}
let marks: Marks = { submits: [], maps: [] };
let variant = 'plain';

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  const device = gpu.device;
  const queue = Object.getPrototypeOf(device.queue) as GPUQueue;
  const submit = queue.submit;
  let held: GPUCommandBuffer[] = [];
  queue.submit = function (this: GPUQueue, cbs: Iterable<GPUCommandBuffer>) {
    if (variant === 'one-submit') {
      held.push(...cbs);
      return;
    }
    const t = performance.now();
    submit.call(this, cbs);
    marks.submits.push([t, performance.now()]);
  };
  const flush = () => {
    if (held.length === 0) return;
    const t = performance.now();
    submit.call(device.queue, held);
    marks.submits.push([t, performance.now()]);
    held = [];
  };
  const probe = device.createBuffer({ size: 4, usage: 1 /* MAP_READ */ });
  const bufferProto = Object.getPrototypeOf(probe) as GPUBuffer;
  probe.destroy();
  const mapAsync = bufferProto.mapAsync;
  bufferProto.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    flush();
    marks.maps.push(performance.now());
    return mapAsync.apply(this, args);
  };
  const done = queue.onSubmittedWorkDone;
  queue.onSubmittedWorkDone = function (this: GPUQueue) {
    flush();
    return done.call(this);
  };
  const devProto = Object.getPrototypeOf(device) as GPUDevice;
  const push = devProto.pushErrorScope;
  const pop = devProto.popErrorScope;
  devProto.pushErrorScope = function (this: GPUDevice, f: GPUErrorFilter) {
    if (variant !== 'no-scopes') push.call(this, f);
  };
  devProto.popErrorScope = function (this: GPUDevice) {
    return variant === 'no-scopes' ? Promise.resolve(null) : pop.call(this);
  };

  for (const net of NETS) {
    const graph = graphOf(net);
    const input = seededInput(graph, 43);
    const session = await WebGpuSession.create(graph, { gpu, plan: 'auto' });
    await session.run({ input });
    await heatGpu(gpu);
    const profile = await session.profile({ input });
    const stats = new Map<string, Record<string, number[]>>(VARIANTS.map((v) => [v, {}]));
    const add = (v: string, k: string, x: number) => (stats.get(v)![k] ??= []).push(x);
    for (let i = 0; i < ROUNDS; i++) {
      await heatGpu(gpu);
      for (const v of VARIANTS) {
        variant = v;
        const knobs = globalThis as { __zsSubmit?: number[]; __zsOwnUpload?: boolean };
        knobs.__zsOwnUpload = v.startsWith('own ');
        const chunks = v.replace('own ', '');
        knobs.__zsSubmit = chunks.includes('/') ? chunks.split('/').map(Number) : undefined;
        const up = session.uploadTensor(input.shape);
        (up.data as Float32Array).set(input.data as Float32Array);
        marks = { submits: [], maps: [] };
        const t0 = performance.now();
        await session.run({ input: up });
        const t1 = performance.now();
        const s = marks.submits;
        add(v, 'wall', t1 - t0);
        add(v, 'first submit', s[0]![0] - t0);
        add(v, 'last submit', s.at(-1)![1] - t0);
        add(v, 'in submit', s.reduce((a, [b, e]) => a + e - b, 0));
        add(v, 'submits', s.length);
        add(v, 'first map', (marks.maps[0] ?? t1) - t0);
        add(v, 'tail', t1 - s.at(-1)![1]);
      }
      variant = 'plain';
    }
    for (const v of VARIANTS) {
      const row = Object.fromEntries(
        Object.entries(stats.get(v)!).map(([k, xs]) => [k, Number(median(xs).toFixed(4))]),
      );
      console.log(
        JSON.stringify({
          net,
          variant: v,
          dispatches: session.plan.length,
          gpuMsAsRun: Number(profile.runGpuMs.toFixed(4)),
          gpuMs: Number(profile.gpuMs.toFixed(4)),
          ...row,
        }),
      );
    }
    session.destroy();
  }
  gpu.destroy();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
