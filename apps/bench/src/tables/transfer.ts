import { BufferUsage, MapMode } from '@zeroskip/gpu';
import { measureWall, type Work } from '../measure.js';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';

/** Input sizes of the networks' first layers: one 224² image, and 32 of 227² (AlexNet) and 224². */
const UPLOAD_BYTES = {
  '1×3×224²': 4 * 3 * 224 * 224,
  '32×3×227²': 4 * 32 * 3 * 227 * 227,
  '32×3×224²': 4 * 32 * 3 * 224 * 224,
};

/**
 * Host ↔ GPU traffic and the fixed cost of waiting for the GPU, which bound a whole network's wall
 * time beside its GPU time: input upload (through the device layer, and Dawn's queue.writeBuffer for
 * comparison) and the round trips a run waits on.
 */
export const transferTable: BenchTable = {
  id: 'transfer',
  title: 'Input upload and GPU round trips',
  reference:
    "goal: input upload ≥ 10 GB/s at batch 32.\nUpload: host array → storage buffer, timed until the GPU is done with it (wall, median); from an upload array (Gpu.uploadArray, a session's uploadTensor) the input is written beforehand, as its producer would write it, and only the copy to the GPU is timed. Round trips: an empty submission waited on in the ways a run can wait.",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const gpu = await ctx.gpu();
    const { device } = gpu;
    const opts = full ? { warmup: 5, iterations: 30 } : { warmup: 1, iterations: 5 };
    const results: BenchResult[] = [];
    const sizes = Object.entries(UPLOAD_BYTES).filter(([, b]) => full || b < 2 ** 24);
    for (const [i, [what, bytes]] of sizes.entries()) {
      ctx.progress(i, sizes.length + 1, `upload ${what}`);
      const data = new Float32Array(bytes / 4).map((_, j) => j % 251);
      const upload = async (x: Float32Array) => {
        const t = gpu.tensor([x.length], x);
        await device.queue.onSubmittedWorkDone();
        gpu.release(t);
      };
      const ways: Record<string, Work> = {
        'Gpu.tensor': () => upload(data),
        'queue.writeBuffer': async () => {
          const t = gpu.empty([data.length]);
          device.queue.writeBuffer(t.buffer, 0, data);
          await device.queue.onSubmittedWorkDone();
          gpu.release(t);
        },
        // the caller writes its input into the upload array instead of an array of its own: untimed
        'Gpu.uploadArray, written beforehand': {
          arm: () => {
            const up = gpu.uploadArray(data.length).fill(1);
            return () => upload(up);
          },
        },
      };
      for (const [way, fn] of Object.entries(ways)) {
        const t = await measureWall(fn, opts);
        results.push(
          {
            table: 'transfer',
            case: `upload ${what}`,
            params: { way, bytes },
            metric: 'time',
            unit: 'ms',
            value: t.median,
            timing: { ...t, clock: 'wall' },
          },
          {
            table: 'transfer',
            case: `upload ${what}`,
            params: { way, bytes },
            metric: 'throughput',
            unit: 'GB/s',
            value: bytes / t.median / 1e6,
          },
        );
      }
    }
    ctx.progress(sizes.length, sizes.length + 1, 'round trips');
    const small = gpu.tensor([256], new Float32Array(256));
    const submitEmpty = () => device.queue.submit([device.createCommandEncoder().finish()]);
    const trips: Record<string, () => Promise<unknown>> = {
      onSubmittedWorkDone: async () => {
        submitEmpty();
        await device.queue.onSubmittedWorkDone();
      },
      'error scopes + onSubmittedWorkDone': async () => {
        device.pushErrorScope('validation');
        submitEmpty();
        await device.popErrorScope();
        await device.queue.onSubmittedWorkDone();
      },
      'copy + mapAsync (new buffer)': async () => {
        const staging = device.createBuffer({
          size: 1024,
          usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
        });
        const enc = device.createCommandEncoder();
        enc.copyBufferToBuffer(small.buffer, 0, staging, 0, 1024);
        device.queue.submit([enc.finish()]);
        await staging.mapAsync(MapMode.READ);
        staging.destroy();
      },
      'Gpu.submit': () => gpu.submit(() => {}),
      'Gpu.read (1 kB, reused buffer)': () => gpu.read(small),
    };
    for (const [way, fn] of Object.entries(trips)) {
      const t = await measureWall(fn, full ? { warmup: 10, iterations: 100 } : opts);
      results.push({
        table: 'transfer',
        case: 'round trip',
        params: { way },
        metric: 'time',
        unit: 'ms',
        value: t.median,
        timing: { ...t, clock: 'wall' },
      });
    }
    gpu.release(small);
    ctx.progress(1, 1, 'done');
    return results;
  },
};
