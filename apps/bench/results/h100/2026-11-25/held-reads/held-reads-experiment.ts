// Bi-Real ResNet-18's binary convs (3×3, float output with the residual and the sign plane, one
// dispatch each) at batch 1 and 16 as the QuantConv layer runs them by default: GPU time of one
// dispatch, median of 31, the clocks raised before each timing. Bundled with esbuild from this
// folder (webgpu external) once with the epilogue's reads before the k loop and once without
// (READS names the build); the output words are summed to compare the builds.
import { heatGpu } from '../../../../src/gpu-clocks.js';
import { type Gpu, requestDevice } from '../../../../../../packages/gpu/src/device.js';
import { encodePack, packedShape } from '../../../../../../packages/gpu/src/kernels/pack-bits.js';
import { QuantConvLayer } from '../../../../../../packages/gpu/src/quant-conv-layer.js';

const ROUNDS = process.env.LOCAL ? 3 : 31;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const STAGES = [
  [56, 64, 64, 1],
  [56, 64, 128, 2],
  [28, 128, 128, 1],
  [28, 128, 256, 2],
  [14, 256, 256, 1],
  [14, 256, 512, 2],
  [7, 512, 512, 1],
] as const;

let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;

async function time(gpu: Gpu, n: number, [hw, c, o, s]: (typeof STAGES)[number]) {
  seed = 7;
  const x4 = [n, c, hw, hw] as [number, number, number, number];
  const weights = Float32Array.from({ length: o * c * 9 }, () => (rnd() < 0 ? -1 : 1));
  const params = {
    scale: Float32Array.from({ length: o }, () => rnd()),
    bias: Float32Array.from({ length: o }, () => rnd()),
  };
  const spec = {
    activations: 'sign',
    weights: 'binary',
    output: 'float',
    conv: { stride: [s, s], pads: [1, 1, 1, 1] },
  } as const;
  const layer = new QuantConvLayer(gpu, spec, weights, [o, c, 3, 3], params);
  const geo = layer.geometry(x4);
  const y4 = [geo.n, geo.o, geo.ho, geo.wo] as const;
  const xt = gpu.tensor(x4, Float32Array.from({ length: n * c * hw * hw }, rnd));
  const xb = gpu.empty(packedShape(x4, layer.inputEncoding), 'u32');
  await gpu.submit((r) => encodePack(r, xt, xb, x4, layer.inputEncoding));
  const residual = gpu.tensor(y4, Float32Array.from({ length: y4.reduce((a, b) => a * b) }, rnd));
  let out: ReturnType<QuantConvLayer['encodeFused']> | undefined;
  const record = (r: Parameters<Parameters<Gpu['submit']>[0]>[0]) => {
    if (out) for (const t of [out.y, ...(out.sign ? [out.sign] : [])]) gpu.release(t);
    out = layer.encodeFused(r, xb, { residual, sign: true });
  };
  await gpu.submit(record);
  await heatGpu(gpu);
  const ms: number[] = [];
  for (let i = 0; i < ROUNDS; i++) ms.push((await gpu.profile(record)).ms);
  const sum = (await gpu.read(out!.y)).reduce((a, b) => a + b, 0);
  const signs = (await gpu.readU32(out!.sign!)).reduce((a, b) => (a + b) % 4294967296, 0);
  layer.destroy();
  for (const t of [xt, xb, residual, out!.y, out!.sign!]) gpu.release(t);
  return { us: median(ms) * 1000, sum, signs };
}

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  await heatGpu(gpu);
  for (const n of [1, 16])
    for (const stage of STAGES)
      console.log(JSON.stringify({ reads: process.env.READS, case: `bireal ${stage.join('/')} b${n}`, ...(await time(gpu, n, stage)) }));
  gpu.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
