import { type Gpu, type Program, requestDevice } from '../device.js';
import { GpuError } from '../errors.js';
import { encodeGlobalAvgPool } from '../kernels/ops.js';
import { encodeActivation } from '../kernels/unary.js';
import { assert, assertClose, assertThrows } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';

/** WGSL that does not compile. */
const BAD_SHADER: Program<Record<string, never>> = {
  name: 'bad-shader',
  wgsl: () => '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }',
};

const device = (name: string, run: (g: Gpu) => Promise<void>): ConformanceCase => ({
  group: 'device layer',
  name,
  run,
});

export const deviceCases: ConformanceCase[] = [
  device('no adapter gives a GpuError that names the way out', async () => {
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    await assertThrows(() => requestDevice({ gpu: noAdapter }), GpuError, /lavapipe.*CPU executor/);
  }),
  device('invalid shader code surfaces as a validation GpuError, not a hang', async (g) => {
    const t = g.empty([4]);
    await assertThrows(
      () => g.submit((r) => r.dispatch('bad', g.pipeline(BAD_SHADER, {}), [t], [1, 1])),
      GpuError,
      /rejected/,
    );
  }),
  device('a tensor larger than maxStorageBufferBindingSize is refused with the limit named', async (g) => {
    await assertThrows(
      () => g.empty([Math.ceil(g.limits.maxStorageBufferBindingSize / 4) + 1]),
      GpuError,
      /maxStorageBufferBindingSize/,
    );
  }),
  device('more than 65 535 workgroups are spread over two grid dimensions', async (g) => {
    const n = 70_001;
    const x = randomArray(n * 3, 1);
    const xt = g.tensor([n, 1, 3, 1], x);
    const y = g.empty([n, 1]);
    await g.submit((r) => encodeGlobalAvgPool(r, xt, y));
    assertClose(
      await g.read(y),
      Float32Array.from({ length: n }, (_, i) => (x[3 * i]! + x[3 * i + 1]! + x[3 * i + 2]!) / 3),
      1e-6,
      1e-6,
      'global average pool over a 2-D grid',
    );
  }),
  device(
    'an upload during recording never lands in a buffer that a recorded dispatch still reads',
    async (g) => {
      const first = randomArray(1000, 3);
      const second = randomArray(1000, 4);
      const a = g.tensor([1000], first);
      const y = g.empty([1000]);
      const z = g.empty([1000]);
      await g.submit((r) => {
        encodeActivation(r, a, y, 'none');
        g.release(a);
        encodeActivation(r, g.tensor([1000], second), z, 'none');
      });
      assertClose(await g.read(y), first, 0, 0, 'the first dispatch');
      assertClose(await g.read(z), second, 0, 0, 'the second dispatch');
    },
  ),
  device('profile() times each dispatch with its label', async (g) => {
    const xt = g.tensor([8, 4, 16, 16], randomArray(8 * 4 * 256, 2));
    const y = g.empty([8, 4]);
    const p = await g.profile((r) => {
      encodeGlobalAvgPool(r, xt, y);
      encodeGlobalAvgPool(r, xt, y);
    });
    assert(p.ms >= 0, 'profile time must not be negative');
    if (p.clock === 'gpu-timestamp') {
      assert(
        p.dispatches.length === 2 && p.dispatches.every((d) => d.label === 'global-avg-pool' && d.ns >= 0),
        `unexpected dispatch timings ${JSON.stringify(p.dispatches)}`,
      );
    } else assert(p.dispatches.length === 0, 'wall-clock profiles have no per-dispatch times');
  }),
  device('work on a destroyed device gives a device-lost GpuError', async () => {
    const other = await requestDevice();
    const t = other.tensor([4], new Float32Array(4));
    other.destroy();
    await assertThrows(() => other.read(t), GpuError, /lost/);
  }),
];
