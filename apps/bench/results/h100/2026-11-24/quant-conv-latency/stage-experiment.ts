// A QuantConv's weights staged in workgroup memory (the kernel's default) against each thread reading
// its own from the buffer, on the binary layers of Bi-Real ResNet-18 (224², batch 1 and 16) and of
// BinaryNet (batch 1 and 256): GPU time of one dispatch, median of 31, the clocks raised before each
// timing, in turns (staged, unstaged, staged again); outputs compared.
// Bundled with esbuild from this folder, webgpu external.
import { heatGpu } from '../../../../src/gpu-clocks.js';
import { type Gpu, requestDevice } from '../../../../../../packages/gpu/src/device.js';
import { bitPoolGeometry } from '../../../../../../packages/gpu/src/kernels/bit-pool.js';
import { encodePack, packedShape } from '../../../../../../packages/gpu/src/kernels/pack-bits.js';
import { QuantConvLayer } from '../../../../../../packages/gpu/src/quant-conv-layer.js';
import type { QuantConvSpec } from '../../../../../../packages/gpu/src/quant-conv-reference.js';

const ROUNDS = process.env.LOCAL ? 3 : 31;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

interface Case {
  name: string;
  x: [number, number, number, number];
  o: number;
  k: number;
  stride: number;
  pad: number;
  output: 'float-residual-sign' | 'sign' | 'float';
  pool?: boolean;
}

const biReal = (n: number): Case[] =>
  [
    [56, 64, 64, 1],
    [56, 64, 128, 2],
    [28, 128, 128, 1],
    [28, 128, 256, 2],
    [14, 256, 256, 1],
    [14, 256, 512, 2],
    [7, 512, 512, 1],
  ].map(([hw, c, o, s]) => ({
    name: `bireal ${hw}² ${c}→${o} s${s} b${n}`,
    x: [n, c!, hw!, hw!],
    o: o!,
    k: 3,
    stride: s!,
    pad: 1,
    output: 'float-residual-sign',
  }));

const binaryNet = (n: number): Case[] => [
  { name: `binarynet conv2+pool b${n}`, x: [n, 32, 14, 14], o: 64, k: 5, stride: 1, pad: 2, output: 'sign', pool: true },
  { name: `binarynet fc1 b${n}`, x: [n, 64, 7, 7], o: 256, k: 7, stride: 1, pad: 0, output: 'sign' },
  { name: `binarynet fc2 b${n}`, x: [n, 256, 1, 1], o: 10, k: 1, stride: 1, pad: 0, output: 'float' },
];

let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;

async function time(gpu: Gpu, c: Case, stageWeights: boolean) {
  const [n, ch, h, w] = c.x;
  const spec: QuantConvSpec = {
    activations: 'sign',
    weights: 'binary',
    output: c.output === 'sign' ? 'sign' : 'float',
    conv: { stride: [c.stride, c.stride], pads: [c.pad, c.pad, c.pad, c.pad] },
  };
  seed = 7;
  const weights = Float32Array.from({ length: c.o * ch * c.k * c.k }, () => (rnd() < 0 ? -1 : 1));
  const params =
    spec.output === 'sign'
      ? { thresholds: Float32Array.from({ length: c.o }, () => Math.round(rnd() * 10)) }
      : {
          scale: Float32Array.from({ length: c.o }, () => rnd()),
          bias: Float32Array.from({ length: c.o }, () => rnd()),
        };
  const layer = new QuantConvLayer(gpu, spec, weights, [c.o, ch, c.k, c.k], params, { stageWeights });
  const geo = layer.geometry(c.x);
  const y4 = [geo.n, geo.o, geo.ho, geo.wo] as const;
  const xt = gpu.tensor(c.x, Float32Array.from({ length: n * ch * h * w }, rnd));
  const xb = gpu.empty(packedShape(c.x, layer.inputEncoding), 'u32');
  await gpu.submit((r) => encodePack(r, xt, xb, c.x, layer.inputEncoding));
  const residual =
    c.output === 'float-residual-sign'
      ? gpu.tensor(y4, Float32Array.from({ length: y4.reduce((a, b) => a * b) }, rnd))
      : undefined;
  const pool = c.pool ? bitPoolGeometry([...y4], { kernel: [2, 2], stride: [2, 2] }) : undefined;
  const epilogue = {
    ...(residual ? { residual, sign: true } : {}),
    ...(pool ? { pool } : {}),
  };
  let out: { y: ReturnType<Gpu['empty']>; sign?: ReturnType<Gpu['empty']> } | undefined;
  const record = (r: Parameters<Parameters<Gpu['submit']>[0]>[0]) => {
    if (out) {
      gpu.release(out.y);
      if (out.sign) gpu.release(out.sign);
    }
    out = layer.encodeFused(r, xb, epilogue);
  };
  await gpu.submit(record);
  // the clocks fall between cases otherwise (the first call of this experiment read 3× slower late cases)
  await heatGpu(gpu);
  const ms: number[] = [];
  for (let i = 0; i < ROUNDS; i++) ms.push((await gpu.profile(record)).ms);
  const words = Array.from(
    out!.y.dtype === 'u32' ? await gpu.readU32(out!.y) : new Uint32Array((await gpu.read(out!.y)).buffer),
  );
  const sign = out!.sign ? Array.from(await gpu.readU32(out!.sign)) : [];
  layer.destroy();
  for (const t of [xt, xb, out!.y, ...(out!.sign ? [out!.sign] : []), ...(residual ? [residual] : [])])
    gpu.release(t);
  return { us: median(ms) * 1000, check: [...words, ...sign] };
}

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  await heatGpu(gpu);
  for (const c of [...biReal(1), ...biReal(16), ...binaryNet(1), ...binaryNet(256)]) {
    const staged = await time(gpu, c, true);
    const unstaged = await time(gpu, c, false);
    const again = await time(gpu, c, true);
    const equal =
      staged.check.length === unstaged.check.length && staged.check.every((v, i) => v === unstaged.check[i]);
    console.log(
      JSON.stringify({ case: c.name, stagedUs: [staged.us, again.us], unstagedUs: unstaged.us, equal }),
    );
  }
  gpu.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
