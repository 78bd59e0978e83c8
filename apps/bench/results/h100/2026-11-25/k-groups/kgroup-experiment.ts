// Batch-1 convs whose GEMM has few tiles, on the implicit GEMM with every shipped tile and with tiles
// in k groups (threads that walk every kg-th k slice of one output tile and add their sums at the
// end), beside the tiled sparse kernel on the 1×1 convs: GPU time of one dispatch (and its k-split
// reduction), median of 31, the clocks raised before each timing. Bundled with esbuild against the
// packages' dist, webgpu external.
import { heatGpu } from '../../../../src/gpu-clocks.js';
import {
  type ConvAlgorithm,
  Conv2dLayer,
  chooseDenseKernel,
  convGeometry,
  encodeImplicitGemmConv,
  GEMM_TILES,
  type GemmTile,
  requestDevice,
} from '@zeroskip/gpu';

const ROUNDS = process.env.LOCAL ? 3 : 31;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

// name, batch, in channels, out channels, kernel, stride, map
const CASES: [string, number, number, number, number, number, number][] = [
  ['bireal down 64→128 1×1 on 28²', 1, 64, 128, 1, 1, 28],
  ['bireal down 128→256 1×1 on 14²', 1, 128, 256, 1, 1, 14],
  ['bireal down 256→512 1×1 on 7²', 1, 256, 512, 1, 1, 7],
  ['resnet-18 down 64→128 1×1/2 on 56²', 1, 64, 128, 1, 2, 56],
  ['resnet-18 down 128→256 1×1/2 on 28²', 1, 128, 256, 1, 2, 28],
  ['resnet-18 down 256→512 1×1/2 on 14²', 1, 256, 512, 1, 2, 14],
  ['resnet-18 3×3 128→256/2 on 28²', 1, 128, 256, 3, 2, 28],
  ['resnet-18 3×3 256→512/2 on 14²', 1, 256, 512, 3, 2, 14],
  ['resnet-18 3×3 512→512 on 7²', 1, 512, 512, 3, 1, 7],
  ['resnet-50 1×1 1024→256 on 14²', 1, 1024, 256, 1, 1, 14],
  ['resnet-50 1×1 256→1024 on 14²', 1, 256, 1024, 1, 1, 14],
  ['resnet-50 1×1 512→2048 on 7²', 1, 512, 2048, 1, 1, 7],
  ['resnet-50 1×1 2048→512 on 7²', 1, 2048, 512, 1, 1, 7],
  ['googlenet 4a/3x3 96→208 on 14²', 1, 96, 208, 3, 1, 14],
  ['alexnet conv3 256→384 on 13²', 1, 256, 384, 3, 1, 13],
  ['resnet stem 3→64 7×7/2 on 224²', 1, 3, 64, 7, 2, 224],
];

const TILES: [string, GemmTile][] = [
  ...(Object.entries(GEMM_TILES) as [string, GemmTile][]),
  ['32×32 kg4 bk8', { bm: 32, bn: 32, bk: 8, tm: 4, tn: 4, kg: 4 }],
  ['32×32 kg4 bk32', { bm: 32, bn: 32, bk: 32, tm: 4, tn: 4, kg: 4 }],
  ['64×32 kg2 bk16', { bm: 64, bn: 32, bk: 16, tm: 4, tn: 4, kg: 2 }],
  ['32×16 kg8 bk16', { bm: 32, bn: 16, bk: 16, tm: 4, tn: 4, kg: 8 }],
];

let seed = 3;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  await heatGpu(gpu);
  for (const [label, n, c, o, k, stride, hw] of CASES) {
    const pad = (k - 1) / 2;
    const params = { stride: [stride, stride] as [number, number], pads: [pad, pad, pad, pad] as const };
    const geo = convGeometry([n, c, hw, hw], [o, c, k, k], params);
    const weights = Float32Array.from({ length: o * c * k * k }, rnd);
    const biasValues = Float32Array.from({ length: o }, rnd);
    const x = gpu.tensor([n, c, hw, hw], Float32Array.from({ length: n * c * hw * hw }, rnd));
    const w = gpu.tensor([o, c, k, k], weights);
    const bias = gpu.tensor([o], biasValues);
    const time = async (kernel: string, record: (r: Parameters<Parameters<typeof gpu.submit>[0]>[0]) => void, out: () => ReturnType<typeof gpu.empty>) => {
      await gpu.submit(record);
      await heatGpu(gpu);
      const ms: number[] = [];
      for (let i = 0; i < ROUNDS; i++) ms.push((await gpu.profile(record)).ms);
      const sum = (await gpu.read(out())).reduce((a, b) => a + b, 0);
      console.log(JSON.stringify({ case: label, kernel, model: chooseDenseKernel(geo, false), us: median(ms) * 1000, sum }));
    };
    for (const [tileName, tile] of TILES) {
      const y = gpu.empty([n, o, geo.ho, geo.wo]);
      await time(`gemm ${tileName}`, (r) => encodeImplicitGemmConv(r, { x, w, bias, y }, geo, 'none', { tile }), () => y);
      gpu.release(y);
    }
    if (k === 1 && c <= 256) {
      const layer = new Conv2dLayer(gpu, { weights, shape: [o, c, k, k], bias: biasValues, algorithm: 'sparse-tiled' as ConvAlgorithm, ...params });
      let y: ReturnType<typeof layer.encode> | undefined;
      await time('sparse-tiled', (r) => {
        if (y) gpu.release(y);
        y = layer.encode(r, x);
      }, () => y!);
      gpu.release(y!);
      layer.destroy();
    }
    for (const t of [x, w, bias]) gpu.release(t);
  }
  gpu.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
