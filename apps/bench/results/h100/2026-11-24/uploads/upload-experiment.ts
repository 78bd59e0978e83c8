// Where a batch's input upload spends its time, and ways to move it faster, timed in turns on one
// device: the host copy into mapped memory alone, the GPU's copy alone, the two in sequence (the
// device layer's Staging), split into chunks that each go as soon as written, and queue.writeBuffer.
import { BufferUsage, type Gpu, MapMode, requestDevice } from '@zeroskip/gpu';
import { heatGpu } from '../gpu-clocks.js';

const SIZES = process.env.LOCAL ? { small: 4 << 20 } : { '32×3×224²': 4 * 32 * 3 * 224 * 224, '16×3×224²': 4 * 16 * 3 * 224 * 224 };
const ROUNDS = process.env.LOCAL ? 3 : 25;

interface Way {
  /** Untimed: put the buffers back in the state a run finds them in. */
  prepare?: () => Promise<void>;
  run: () => Promise<void>;
}

const out: unknown[] = [];

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const gpu: Gpu = await requestDevice({ gpu: mod.create([]) });
  const { device } = gpu;
  for (const [label, bytes] of Object.entries(SIZES)) {
    const data = new Float32Array(bytes / 4).map((_, j) => j % 251);
    const src = new Uint8Array(data.buffer);
    const dst = device.createBuffer({ size: bytes, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });
    const mapped = (size: number) =>
      device.createBuffer({ size, usage: BufferUsage.MAP_WRITE | BufferUsage.COPY_SRC, mappedAtCreation: true });
    const host = new Uint8Array(bytes);
    const ways: Record<string, Way> = {};
    ways['memcpy to host memory'] = { run: async () => host.set(src) };
    {
      // the buffer stays referenced: collected, it would free the memory its mapping points at
      const s = mapped(bytes);
      const range = new Uint8Array(s.getMappedRange(0, bytes));
      ways['memcpy to mapped memory'] = { run: async () => void (s.size && range.set(src)) };
    }
    {
      const s = mapped(bytes);
      new Uint8Array(s.getMappedRange(0, bytes)).set(src);
      s.unmap();
      ways['GPU copy alone'] = {
        run: async () => {
          const e = device.createCommandEncoder();
          e.copyBufferToBuffer(s, 0, dst, 0, bytes);
          device.queue.submit([e.finish()]);
          await device.queue.onSubmittedWorkDone();
        },
      };
    }
    for (const chunks of [1, 2, 3, 4, 8]) {
      const size = Math.ceil(bytes / chunks / 4) * 4;
      const stagings = Array.from({ length: chunks }, () => mapped(size));
      ways[`${chunks} chunk${chunks > 1 ? 's' : ''}, each sent when written`] = {
        prepare: async () => {
          await Promise.all(stagings.map((s) => (s.mapState === 'unmapped' ? s.mapAsync(MapMode.WRITE) : undefined)));
        },
        run: async () => {
          for (const [c, s] of stagings.entries()) {
            const from = c * size;
            const n = Math.min(size, bytes - from);
            new Uint8Array(s.getMappedRange(0, n)).set(src.subarray(from, from + n));
            s.unmap();
            const e = device.createCommandEncoder();
            e.copyBufferToBuffer(s, 0, dst, from, n);
            device.queue.submit([e.finish()]);
          }
          await device.queue.onSubmittedWorkDone();
        },
      };
    }
    {
      // the same chunks in one submission: the copies start only once every chunk is written
      const chunks = 4;
      const size = Math.ceil(bytes / chunks / 4) * 4;
      const stagings = Array.from({ length: chunks }, () => mapped(size));
      ways['4 chunks, one submission'] = {
        prepare: async () => {
          await Promise.all(stagings.map((s) => (s.mapState === 'unmapped' ? s.mapAsync(MapMode.WRITE) : undefined)));
        },
        run: async () => {
          const e = device.createCommandEncoder();
          for (const [c, s] of stagings.entries()) {
            const from = c * size;
            const n = Math.min(size, bytes - from);
            new Uint8Array(s.getMappedRange(0, n)).set(src.subarray(from, from + n));
            s.unmap();
            e.copyBufferToBuffer(s, 0, dst, from, n);
          }
          device.queue.submit([e.finish()]);
          await device.queue.onSubmittedWorkDone();
        },
      };
    }
    ways['Gpu.tensor (the device layer)'] = {
      run: async () => {
        const t = gpu.tensor([data.length], data);
        await device.queue.onSubmittedWorkDone();
        gpu.release(t);
      },
    };
    ways['queue.writeBuffer'] = {
      run: async () => {
        device.queue.writeBuffer(dst, 0, data);
        await device.queue.onSubmittedWorkDone();
      },
    };
    const samples = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS + 3; round++) {
      await heatGpu(gpu);
      for (const [way, w] of Object.entries(ways)) {
        await w.prepare?.();
        const t0 = performance.now();
        await w.run();
        const ms = performance.now() - t0;
        if (round >= 3) samples.set(way, [...(samples.get(way) ?? []), ms]);
      }
    }
    for (const [way, s] of samples) {
      s.sort((a, b) => a - b);
      const median = s[Math.floor(s.length / 2)]!;
      const row = { size: label, bytes, way, ms: median, p10: s[Math.floor(s.length / 10)], p90: s[Math.floor((s.length * 9) / 10)], gbps: bytes / median / 1e6 };
      console.log(JSON.stringify(row));
      out.push(row);
    }
  }
  gpu.destroy();
  const fs = await import('node:fs');
  fs.writeFileSync(`${process.env.OUT ?? '/tmp'}/r/exp.json`, JSON.stringify(out, null, 1));
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
