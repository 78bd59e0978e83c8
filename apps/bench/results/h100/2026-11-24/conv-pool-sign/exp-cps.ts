// BinaryNet's first layer (conv 32 5×5 → max pool 2×2 → BN sign → packed) as the runtime runs it now
// (implicit GEMM, f32 max pool, pack with the folded sign map: three dispatches) against
// ConvPoolSignLayer (one), timed in turns on one device; outputs compared first.
import {
  ConvPoolSignLayer,
  Conv2dLayer,
  bitPoolGeometry,
  convGeometry,
  encodePack,
  encodePool,
  type Gpu,
  packedShape,
  requestDevice,
} from '@zeroskip/gpu';
import { heatGpu } from './gpu-clocks.js';

const ROUNDS = process.env.LOCAL ? 3 : 15;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu: Gpu = await requestDevice({ gpu: mod.create(['disable-dawn-features=timestamp_quantization']) });
  await heatGpu(gpu);
  const [o, c, k] = [32, 1, 5];
  let s = 1;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 6 - 3;
  const w = Float32Array.from({ length: o * c * k * k }, () => Math.round(rnd()));
  const bias = Float32Array.from({ length: o }, () => Math.round(rnd()));
  const scale = Float32Array.from({ length: o }, (_, i) => [1, -1, 1, 0][i % 4]!);
  const shift = Float32Array.from({ length: o }, () => Math.round(rnd()) + 0.5);
  const conv = new Conv2dLayer(gpu, { weights: w, shape: [o, c, k, k], bias, algorithm: 'implicit-gemm' });
  const fused = new ConvPoolSignLayer(gpu, w, [o, c, k, k], bias, { scale, shift });
  const sc = gpu.tensor([o], scale);
  const sh = gpu.tensor([o], shift);
  for (const n of [1, 32, 256]) {
    const x4 = [n, c, 28, 28] as const;
    const x = gpu.tensor(x4, Float32Array.from({ length: n * c * 28 * 28 }, () => Math.round(rnd())));
    const g = convGeometry(x4, [o, c, k, k]);
    const pool = bitPoolGeometry([n, o, g.ho, g.wo], { kernel: [2, 2], stride: [2, 2] });
    const p4 = [n, o, pool.ho, pool.wo] as const;
    const apart = (r: Parameters<Parameters<Gpu['submit']>[0]>[0]) => {
      const y = conv.encode(r, x);
      const pooled = gpu.empty(p4);
      encodePool(r, y, pooled, 'max', { kernel: [2, 2], stride: [2, 2] });
      const b = gpu.empty(packedShape(p4, { mode: 'sign' }), 'u32');
      encodePack(r, pooled, b, p4, { mode: 'sign' }, { scale: sc, shift: sh });
      gpu.release(y);
      gpu.release(pooled);
      return b;
    };
    let a: ReturnType<typeof apart> | undefined;
    let f: ReturnType<typeof apart> | undefined;
    await gpu.submit((r) => {
      a = apart(r);
      f = fused.encode(r, x, g, pool);
    });
    const [wa, wf] = [await gpu.readU32(a!), await gpu.readU32(f!)];
    const equal = wa.length === wf.length && wa.every((v, i) => v === wf[i]);
    gpu.release(a!);
    gpu.release(f!);
    const times: Record<string, number[]> = { apart: [], fused: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const way of ['apart', 'fused'] as const) {
        let t: ReturnType<typeof apart> | undefined;
        const p = await gpu.profile((r) => {
          t = way === 'apart' ? apart(r) : fused.encode(r, x, g, pool);
        });
        gpu.release(t!);
        times[way]!.push(p.ms);
      }
    }
    const [ma, mf] = [median(times.apart!), median(times.fused!)];
    console.log(JSON.stringify({ batch: n, equal, apartMs: ma, fusedMs: mf, speedup: ma / mf, times }));
    gpu.release(x);
  }
  gpu.destroy();
}

await main();
