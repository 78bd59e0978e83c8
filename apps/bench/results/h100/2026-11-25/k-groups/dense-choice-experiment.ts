// Batch-1 convs of ResNet-18/50, GoogLeNet, AlexNet and VGG-16 on every dense kernel that applies, and
// on the cost model's choice, as a layer runs them: GPU time of one layer's dispatches, median of 31,
// the clocks raised before each timing. Bundled with esbuild against the packages' dist, webgpu
// external, once before the k-group tile and once after (KERNELS_AT names the build), so that the
// Winograd kernels' inner GEMMs and the model's choices are timed as each build makes them.
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

// name, in channels, out channels, kernel, stride, map (batch 1)
const CASES: [string, number, number, number, number, number][] = [
  ['bireal down 64→128 1×1 on 28²', 64, 128, 1, 1, 28],
  ['bireal down 128→256 1×1 on 14²', 128, 256, 1, 1, 14],
  ['bireal down 256→512 1×1 on 7²', 256, 512, 1, 1, 7],
  ['resnet-18 down 64→128 1×1/2 on 56²', 64, 128, 1, 2, 56],
  ['resnet-18 down 256→512 1×1/2 on 14²', 256, 512, 1, 2, 14],
  ['resnet-18 3×3 64→64 on 56²', 64, 64, 3, 1, 56],
  ['resnet-18 3×3 128→256/2 on 28²', 128, 256, 3, 2, 28],
  ['resnet-18 3×3 256→256 on 14²', 256, 256, 3, 1, 14],
  ['resnet-18 3×3 256→512/2 on 14²', 256, 512, 3, 2, 14],
  ['resnet-18 3×3 512→512 on 7²', 512, 512, 3, 1, 7],
  ['resnet-50 1×1 1024→256 on 14²', 1024, 256, 1, 1, 14],
  ['resnet-50 1×1 256→1024 on 14²', 256, 1024, 1, 1, 14],
  ['resnet-50 1×1 512→2048 on 7²', 512, 2048, 1, 1, 7],
  ['resnet-50 1×1 2048→512 on 7²', 2048, 512, 1, 1, 7],
  ['resnet-50 3×3 512→512 on 7²', 512, 512, 3, 1, 7],
  ['googlenet 4a/3x3 96→208 on 14²', 96, 208, 3, 1, 14],
  ['googlenet 5a/3x3 160→320 on 7²', 160, 320, 3, 1, 7],
  ['alexnet conv5 384→256 on 13²', 384, 256, 3, 1, 13],
  ['vgg-16 conv5_2 512→512 on 14²', 512, 512, 3, 1, 14],
  ['resnet stem 3→64 7×7/2 on 224²', 3, 64, 7, 2, 224],
];

let seed = 3;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  await heatGpu(gpu);
  for (const [label, c, o, k, stride, hw] of CASES) {
    const pad = (k - 1) / 2;
    const params = { stride: [stride, stride] as [number, number], pads: [pad, pad, pad, pad] as const };
    const geo = convGeometry([1, c, hw, hw], [o, c, k, k], params);
    const weights = Float32Array.from({ length: o * c * k * k }, rnd);
    const bias = Float32Array.from({ length: o }, rnd);
    const x = gpu.tensor([1, c, hw, hw], Float32Array.from({ length: c * hw * hw }, rnd));
    const model = chooseDenseKernel(geo, false);
    for (const kernel of ['model', ...DENSE_KERNELS.filter((d) => d !== 'gemv' && denseKernelApplies(d, geo))]) {
      const layer = new Conv2dLayer(gpu, {
        weights,
        shape: [o, c, k, k],
        bias,
        algorithm: 'implicit-gemm',
        ...(kernel === 'model' ? {} : { dense: kernel as DenseKernel }),
        ...params,
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
      const sum = (await gpu.read(y!)).reduce((a, b) => a + b, 0);
      console.log(JSON.stringify({ at: process.env.KERNELS_AT, case: label, kernel, model, us: median(ms) * 1000, sum }));
      gpu.release(y!);
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
