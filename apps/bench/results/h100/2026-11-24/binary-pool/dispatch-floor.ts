// GPU time of chains of dependent dispatches as they run (one compute pass, each pass timed): how much
// a dispatch costs on its own, with next to no work, one workgroup or one wave of 528, so that a
// network's time at batch 1 can be set against its dispatch count. Bundled with esbuild from this
// folder (webgpu external); each dispatch adds 1 to every element of one buffer, so Dawn puts a
// barrier between any two.
import { heatGpu } from '../../../../src/gpu-clocks.js';
import { requestDevice } from '../../../../../../packages/gpu/src/device.js';
import { dispatchElementwise, elementwiseWgsl } from '../../../../../../packages/gpu/src/kernels/elementwise.js';
import { bindings, u } from '../../../../../../packages/gpu/src/wgsl.js';

const ROUNDS = process.env.LOCAL ? 3 : 15;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const BUMP = {
  name: 'bump',
  wgsl: ({ total }: { total: number }) =>
    elementwiseWgsl(bindings([['y', 'array<f32>', 'read_write']]), u(total), 'y[e] = y[e] + 1.0;'),
};

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  await heatGpu(gpu);
  for (const total of [256, 528 * 256]) {
    const y = gpu.tensor([total], new Float32Array(total));
    for (const chain of [1, 2, 4, 8, 16, 32]) {
      const record = (r: Parameters<Parameters<typeof gpu.submit>[0]>[0]) => {
        for (let i = 0; i < chain; i++) dispatchElementwise(r, 'bump', BUMP, { total }, total, [y]);
      };
      await gpu.submit(record);
      const ms: number[] = [];
      for (let i = 0; i < ROUNDS; i++) ms.push((await gpu.profile(record, { each: 'pass' })).ms);
      const after = await gpu.read(y);
      console.log(JSON.stringify({ total, chain, asRunUs: median(ms) * 1000, sample: after[0] }));
    }
    gpu.release(y);
  }
  gpu.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
