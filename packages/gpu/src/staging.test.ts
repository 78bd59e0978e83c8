import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gpu, requestDevice } from './device.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

describe('large uploads', () => {
  it('arrive intact, whether their staging buffer is fresh, still in flight or mapped again', async () => {
    // 1 MiB and over takes the staging path; back-to-back uploads of one size overlap the remap
    const n = (1 << 18) + 7;
    const arrays = [0, 1, 2, 3].map((k) =>
      Float32Array.from({ length: n }, (_, i) => ((i * 31 + k) % 1009) - 504),
    );
    const first = arrays.map((a) => gpu.tensor([n], a));
    for (const [k, t] of first.entries()) expect(await gpu.read(t)).toEqual(arrays[k]);
    // after the reads every staging buffer has been mapped again: these reuse them
    const again = arrays.map((a) =>
      gpu.tensor(
        [n],
        a.map((v) => -v),
      ),
    );
    for (const [k, t] of again.entries()) expect(await gpu.read(t)).toEqual(arrays[k]!.map((v) => -v));
    for (const t of [...first, ...again]) gpu.release(t);
  });
});
