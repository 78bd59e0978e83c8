import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gpu, type Program, requestDevice } from './device.js';
import { GpuError } from './errors.js';
import type { Recorder } from './recorder.js';
import { AFFINE } from './test-affine.js';

const BROKEN: Program<Record<string, never>> = {
  name: 'test-broken',
  wgsl: () => '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }',
};

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

describe('rehearse and buildPipelines', () => {
  it('build what a rehearsal asked for, reporting each, so that the real recording builds none', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 200 }),
        async (adds, n) => {
          const x = Float32Array.from({ length: n }, (_, i) => i - n / 2);
          const input = gpu.tensor([n], x);
          const outputs = adds.map(() => gpu.empty([n]));
          const record = (r: Recorder) => {
            for (const [k, add] of adds.entries())
              r.dispatch(
                'affine',
                gpu.pipeline(AFFINE, { add }),
                [input, outputs[k]!],
                [Math.ceil(n / 64), 1],
              );
          };
          const before = gpu.pipelineCount;
          gpu.rehearse(record);
          expect(gpu.pipelineCount).toBe(before);
          const calls: [number, number][] = [];
          const fresh = await gpu.buildPipelines((done, total) => calls.push([done, total]));
          expect(calls).toEqual(Array.from({ length: fresh }, (_, i) => [i + 1, fresh]));
          expect(gpu.pipelineCount).toBe(before + fresh);
          await gpu.submit(record);
          expect(gpu.pipelineCount).toBe(before + fresh);
          for (const [k, add] of adds.entries()) {
            const y = await gpu.read(outputs[k]!);
            expect(Array.from(y)).toEqual(Array.from(x, (v) => Math.fround(v * 3 + add)));
            gpu.release(outputs[k]!);
          }
          gpu.release(input);
        },
      ),
      { seed: 7, numRuns: 6 },
    );
  }, 120_000);

  it('a pipeline that does not compile is a validation GpuError', async () => {
    gpu.rehearse((r) => r.dispatch('broken', gpu.pipeline(BROKEN, {}), [], [1, 1]));
    await expect(gpu.buildPipelines()).rejects.toThrow(GpuError);
    await expect(gpu.buildPipelines()).resolves.toBe(0);
  }, 120_000);

  it('counts what it built without a progress callback too', async () => {
    gpu.rehearse((r) => r.dispatch('counted', gpu.pipeline(AFFINE, { add: 2000 }), [], [1, 1]));
    await expect(gpu.buildPipelines()).resolves.toBe(1);
  }, 120_000);

  it('a pipeline handed out by a rehearsal fails loudly if dispatched before it is built', async () => {
    const t = gpu.empty([4]);
    let stand: GPUComputePipeline | undefined;
    gpu.rehearse(() => {
      stand = gpu.pipeline(AFFINE, { add: 1000 });
    });
    await expect(gpu.submit((r) => r.dispatch('early', stand!, [t, t], [1, 1]))).rejects.toThrow(
      /used before it was built/,
    );
    await gpu.buildPipelines();
    gpu.release(t);
  }, 120_000);
});
