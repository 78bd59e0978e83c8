// per-method host time and the timeline of WebGPU calls inside one replayed batch-1 run
import { pruned } from '../../../../src/tables/networks.js';
import { seededInput } from '../../../../src/zoo-graphs.js';
import { heatGpu } from '../../../../src/gpu-clocks.js';
import { requestDevice } from '@zeroskip/gpu';
import { WebGpuSession } from '@zeroskip/runtime';
const acc = new Map<string, [number, number]>();
let on = false;
let t0 = 0;
let line: string[] = [];
function wrap(proto: any, name: string) {
  const f = proto[name];
  proto[name] = function (this: unknown, ...a: unknown[]) {
    if (!on) return f.apply(this, a);
    const t = performance.now();
    const r = f.apply(this, a);
    const e = acc.get(name) ?? [0, 0];
    const dt = performance.now() - t;
    e[0] += dt; e[1]++;
    acc.set(name, e);
    line.push(`${(t - t0).toFixed(4)} +${dt.toFixed(4)} ${name}`);
    return r;
  };
}
async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as any;
  const gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  const d = gpu.device;
  const enc = d.createCommandEncoder();
  const pass = enc.beginComputePass();
  const buf = d.createBuffer({ size: 4, usage: 1 });
  for (const [p, ns] of [[Object.getPrototypeOf(d.queue), ['submit', 'writeBuffer', 'onSubmittedWorkDone']], [Object.getPrototypeOf(d), ['createCommandEncoder', 'pushErrorScope', 'popErrorScope', 'createBuffer']], [Object.getPrototypeOf(enc), ['beginComputePass', 'copyBufferToBuffer', 'finish']], [Object.getPrototypeOf(pass), ['setPipeline', 'setBindGroup', 'dispatchWorkgroups', 'end']], [Object.getPrototypeOf(buf), ['mapAsync', 'unmap', 'getMappedRange']]] as [any, string[]][])
    for (const n of ns) wrap(p, n);
  pass.end(); enc.finish(); buf.destroy();
  for (const net of (process.env.NETS ?? 'alexnet,vgg-16,resnet-50').split(',')) {
    const graph = pruned(net, 42, 1);
    const input = seededInput(graph, 43);
    const s = await WebGpuSession.create(graph, { gpu, plan: 'auto' });
    await s.run({ input }); await s.run({ input });
    await heatGpu(gpu);
    for (let k = 0; k < 5; k++) {
      const up = s.uploadTensor(input.shape);
      (up.data as Float32Array).set(input.data as Float32Array);
      acc.clear(); line = []; on = true;
      t0 = performance.now();
      await s.run({ input: up });
      const wall = performance.now() - t0;
      on = false;
      if (k < 4) continue;
      console.log(net, 'wall', wall.toFixed(3), 'plan', s.plan.length);
      for (const [k2, [ms, n]] of [...acc].sort((a, b) => b[1][0] - a[1][0])) console.log('  ', k2.padEnd(22), ms.toFixed(4), n);
      console.log(line.join('\n'));
    }
    s.destroy();
  }
  gpu.destroy();
}
main();
