// First layers of ImageNet CNNs (few input channels, large maps) on the implicit GEMM with each GEMM
// tile, against the cost model's choice: GPU time of one dispatch, median of 31, the clocks raised
// before each timing; outputs compared with the default's. Bundled with esbuild against the
// packages' dist (as the bench's clock raising is), webgpu external.
import { heatGpu } from '../../../../src/gpu-clocks.js';
import {
  Conv2dLayer,
  chooseDenseKernel,
  convGeometry,
  DENSE_KERNELS,
  type DenseKernel,
  denseKernelApplies,
  requestDevice,
} from '@zeroskip/gpu';

const ROUNDS = process.env.LOCAL ? 3 : 31;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const CASES = [
  { name: 'resnet stem 7×7/2 3→64', c: 3, o: 64, k: 7, stride: 2, pad: 3, hw: 224 },
  { name: 'vgg conv1_1 3×3 3→64', c: 3, o: 64, k: 3, stride: 1, pad: 1, hw: 224 },
  { name: 'alexnet conv1 11×11/4 3→64', c: 3, o: 64, k: 11, stride: 4, pad: 2, hw: 224 },
];

let seed = 3;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  await heatGpu(gpu);
  for (const c of CASES)
    for (const n of process.env.LOCAL ? [1] : [1, 16]) {
      const shape = [c.o, c.c, c.k, c.k] as const;
      const weights = Float32Array.from({ length: c.o * c.c * c.k * c.k }, rnd);
      const bias = Float32Array.from({ length: c.o }, rnd);
      const x4 = [n, c.c, c.hw, c.hw] as const;
      const x = gpu.tensor(x4, Float32Array.from({ length: n * c.c * c.hw * c.hw }, rnd));
      const geo = convGeometry(x4, shape, { stride: [c.stride, c.stride], pads: [c.pad, c.pad, c.pad, c.pad] });
      const chosen = chooseDenseKernel(geo, false);
      let reference: Float32Array | undefined;
      for (const dense of [chosen, ...DENSE_KERNELS.filter((d) => d !== chosen && denseKernelApplies(d, geo))] as DenseKernel[]) {
        const layer = new Conv2dLayer(gpu, {
          weights,
          shape,
          bias,
          activation: 'relu',
          algorithm: 'implicit-gemm',
          dense,
          stride: [c.stride, c.stride],
          pads: [c.pad, c.pad, c.pad, c.pad],
        });
        let y: ReturnType<typeof layer.encode> | undefined;
        const record = (r: Parameters<Parameters<typeof gpu.submit>[0]>[0]) => {
          if (y) gpu.release(y);
          y = layer.encode(r, x);
        };
        await gpu.submit(record);
        await heatGpu(gpu);
        const ms: number[] = [];
        for (let i = 0; i < ROUNDS; i++) ms.push((await gpu.profile(record)).ms);
        const out = await gpu.read(y!);
        reference ??= out;
        let diff = 0;
        for (let i = 0; i < out.length; i++) diff = Math.max(diff, Math.abs(out[i]! - reference[i]!));
        console.log(JSON.stringify({ case: c.name, batch: n, dense, chosen: dense === chosen, us: median(ms) * 1000, maxDiff: diff }));
        gpu.release(y!);
        y = undefined;
        layer.destroy();
      }
      gpu.release(x);
    }
  gpu.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
