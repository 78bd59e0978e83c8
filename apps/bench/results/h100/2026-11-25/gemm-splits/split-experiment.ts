// Batch-1 convs whose GEMM has few tiles (1×1 downsampling convs, late stages) on the implicit GEMM
// with the cost model's tile, and on the sparse kernels the auto plan may pick for them, to set
// against a bundle built with another k-split rule: GPU time of one dispatch, median of 31, the
// clocks raised before each timing. Bundled with esbuild against the packages' dist, webgpu external;
// SPLIT_RULE names the rule the bundle was built with.
import { heatGpu } from '../../../../src/gpu-clocks.js';
import { type ConvAlgorithm, Conv2dLayer, requestDevice } from '@zeroskip/gpu';

const ROUNDS = process.env.LOCAL ? 3 : 31;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const CASES = [
  { name: 'bireal down 64→128 1×1 on 28²', c: 64, o: 128, k: 1, stride: 1, hw: 28 },
  { name: 'bireal down 128→256 1×1 on 14²', c: 128, o: 256, k: 1, stride: 1, hw: 14 },
  { name: 'bireal down 256→512 1×1 on 7²', c: 256, o: 512, k: 1, stride: 1, hw: 7 },
  { name: 'resnet-18 down 64→128 1×1/2 on 56²', c: 64, o: 128, k: 1, stride: 2, hw: 56 },
  { name: 'resnet-18 down 256→512 1×1/2 on 14²', c: 256, o: 512, k: 1, stride: 2, hw: 14 },
  { name: 'resnet-18 layer4 3×3 512→512 on 7²', c: 512, o: 512, k: 3, stride: 1, hw: 7 },
  { name: 'resnet-50 res4 1×1 1024→256 on 14²', c: 1024, o: 256, k: 1, stride: 1, hw: 14 },
  { name: 'resnet-50 res5 1×1 512→2048 on 7²', c: 512, o: 2048, k: 1, stride: 1, hw: 7 },
  { name: 'resnet-50 res5 1×1 2048→512 on 7²', c: 2048, o: 512, k: 1, stride: 1, hw: 7 },
];

let seed = 3;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  await heatGpu(gpu);
  for (const c of CASES) {
    const shape = [c.o, c.c, c.k, c.k] as const;
    const weights = Float32Array.from({ length: c.o * c.c * c.k * c.k }, rnd);
    const bias = Float32Array.from({ length: c.o }, rnd);
    const x4 = [1, c.c, c.hw, c.hw] as const;
    const x = gpu.tensor(x4, Float32Array.from({ length: c.c * c.hw * c.hw }, rnd));
    const pad = (c.k - 1) / 2;
    for (const algorithm of ['implicit-gemm', 'sparse-tiled', 'direct-sparse'] as ConvAlgorithm[]) {
      const layer = new Conv2dLayer(gpu, {
        weights,
        shape,
        bias,
        algorithm,
        stride: [c.stride, c.stride],
        pads: [pad, pad, pad, pad],
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
      console.log(
        JSON.stringify({ rule: process.env.SPLIT_RULE, case: c.name, algorithm, us: median(ms) * 1000, sum }),
      );
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
