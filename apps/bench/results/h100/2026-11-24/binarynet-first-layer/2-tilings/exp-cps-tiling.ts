// Ran against a working-tree variant of d7d5dff whose ConvPoolSignLayer took a `tiling` argument
// (channels per thread, positions per workgroup, staged weights); no tiling was faster, and the
// variant was not kept, so this script does not build against main.
// ConvPoolSignLayer's tilings (channels per thread, pooled positions per workgroup, weights staged
// in workgroup memory or not) on BinaryNet's first layer and a ResNet-style stem, timed in turns on
// one device; every tiling's packed words are compared with the default's first.
import {
  bitPoolGeometry,
  ConvPoolSignLayer,
  type ConvPoolSignTiling,
  convGeometry,
  type Gpu,
  requestDevice,
} from '@zeroskip/gpu';
import { heatGpu } from './gpu-clocks.js';

const ROUNDS = process.env.LOCAL ? 2 : 15;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const LAYERS = [
  { name: 'binarynet', o: 32, c: 1, k: 5, hw: 28, stride: 1, pad: 0, pool: { k: 2, s: 2, p: 0 }, batches: [1, 32, 256] },
  { name: 'stem', o: 64, c: 3, k: 7, hw: 224, stride: 2, pad: 3, pool: { k: 3, s: 2, p: 1 }, batches: [1, 16] },
];

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu: Gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  await heatGpu(gpu);
  let s = 1;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 6 - 3;
  for (const l of LAYERS) {
    const { o, c, k } = l;
    const w = Float32Array.from({ length: o * c * k * k }, () => Math.round(rnd()));
    const bias = Float32Array.from({ length: o }, () => Math.round(rnd()));
    const scale = Float32Array.from({ length: o }, (_, i) => [1, -1, 1, 0][i % 4]!);
    const shift = Float32Array.from({ length: o }, () => Math.round(rnd()) + 0.5);
    const tilings: ConvPoolSignTiling[] = [];
    for (const channels of [4, 8, 16, 32])
      for (const positions of [32, 64, 128])
        for (const staged of [false, true])
          if (positions * (32 / channels) <= 1024 && (!staged || c * k * k * 128 <= 12 * 1024))
            tilings.push({ channels, positions, staged });
    const layers = tilings.map((t) => new ConvPoolSignLayer(gpu, w, [o, c, k, k], bias, { scale, shift }, 'none', t));
    for (const n of l.batches) {
      const x4 = [n, c, l.hw, l.hw] as const;
      const x = gpu.tensor(x4, Float32Array.from({ length: n * c * l.hw * l.hw }, () => Math.round(rnd())));
      const g = convGeometry(x4, [o, c, k, k], { stride: [l.stride, l.stride], pads: [l.pad, l.pad, l.pad, l.pad] });
      const pool = bitPoolGeometry([n, o, g.ho, g.wo], {
        kernel: [l.pool.k, l.pool.k],
        stride: [l.pool.s, l.pool.s],
        pads: [l.pool.p, l.pool.p, l.pool.p, l.pool.p],
      });
      const outs: ReturnType<ConvPoolSignLayer['encode']>[] = [];
      await gpu.submit((r) => {
        for (const layer of layers) outs.push(layer.encode(r, x, g, pool));
      });
      const words = await Promise.all(outs.map((t) => gpu.readU32(t)));
      const equal = words.map((v) => v.length === words[0]!.length && v.every((x, i) => x === words[0]![i]));
      for (const t of outs) gpu.release(t);
      const times = layers.map(() => [] as number[]);
      for (let i = 0; i < ROUNDS; i++)
        for (const [j, layer] of layers.entries()) {
          let t: ReturnType<ConvPoolSignLayer['encode']> | undefined;
          const p = await gpu.profile((r) => {
            t = layer.encode(r, x, g, pool);
          });
          gpu.release(t!);
          times[j]!.push(p.ms);
        }
      for (const [j, t] of tilings.entries())
        console.log(JSON.stringify({ layer: l.name, batch: n, ...t, equal: equal[j], ms: median(times[j]!), times: times[j] }));
      gpu.release(x);
    }
    for (const layer of layers) layer.destroy();
  }
  gpu.destroy();
}

await main();
