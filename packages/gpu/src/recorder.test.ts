import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gpu, requestDevice } from './device.js';
import { FIRST_SUBMIT, SUBMIT_EVERY } from './recorder.js';
import { AFFINE } from './test-affine.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

describe('Recorder', () => {
  it('submits long chains as it records, and reads tensors back in the same submission', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 60, size: 'max' }),
        fc.integer({ min: 1, max: 300 }),
        async (adds, n) => {
          const x = Float32Array.from({ length: n }, (_, i) => ((i % 5) - 2) / 64);
          const chain = [gpu.tensor([n], x), ...adds.map(() => gpu.empty([n]))];
          const reads: Promise<ArrayBuffer>[] = [];
          await gpu.submit((r) => {
            for (const [k, add] of adds.entries()) {
              r.dispatch(
                `affine ${k}`,
                gpu.pipeline(AFFINE, { add }),
                [chain[k]!, chain[k + 1]!],
                [Math.ceil(n / 64), 1],
              );
              // reads interleaved with dispatches see exactly the work recorded before them
              if (k % 7 === 0) reads.push(r.read(chain[k + 1]!));
            }
            reads.push(r.read(chain[adds.length]!));
          });
          const expected: Float32Array[] = [];
          let y = x;
          for (const [k, add] of adds.entries()) {
            y = y.map((v) => Math.fround(v * 3 + add));
            if (k % 7 === 0) expected.push(y);
          }
          expected.push(y);
          const got = await Promise.all(reads);
          got.forEach((d, i) => {
            const e = expected[i]!;
            const scale = Math.max(1, ...e.map(Math.abs));
            for (const [j, v] of new Float32Array(d).entries())
              expect(Math.abs(v - e[j]!)).toBeLessThanOrEqual(1e-5 * scale);
          });
          for (const t of chain) gpu.release(t);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('times each dispatch in its own pass, or the passes an untimed run records, with the same results', async () => {
    const n = 4096;
    const x = gpu.tensor([n], new Float32Array(n).fill(1));
    const chain = Array.from({ length: 20 }, () => gpu.empty([n]));
    const record = (r: Parameters<Parameters<Gpu['profile']>[0]>[0]) => {
      for (const [k, y] of chain.entries())
        r.dispatch(`affine ${k}`, gpu.pipeline(AFFINE, { add: 1 }), [chain[k - 1] ?? x, y], [n / 64, 1]);
      return r.read(chain.at(-1)!);
    };
    let read: Promise<ArrayBuffer> | undefined;
    const each = await gpu.profile((r) => {
      read = record(r);
    });
    const first = new Float32Array(await read!);
    const passes = await gpu.profile(
      (r) => {
        read = record(r);
      },
      { each: 'pass' },
    );
    expect(new Float32Array(await read!)).toEqual(first);
    if (gpu.features.timestampQuery) {
      expect(each.dispatches.map((d) => d.label)).toEqual(chain.map((_, k) => `affine ${k}`));
      // an untimed recording's submissions, each one pass, take FIRST_SUBMIT dispatches, then twice as
      // many up to SUBMIT_EVERY
      let submissions = 0;
      for (let left = chain.length, c = FIRST_SUBMIT; left > 0; left -= c, c = Math.min(2 * c, SUBMIT_EVERY))
        submissions++;
      expect(passes.dispatches.map((d) => d.label)).toEqual(Array(submissions).fill('pass'));
      expect(passes.ms).toBeGreaterThan(0);
    }
    for (const t of [x, ...chain]) gpu.release(t);
  });

  it('gives tensors made inside a recording their data, small ones through the queue and large ones mapped', async () => {
    // sizes no other test uses, so that the one buffer released here is the only free one of its size
    for (const n of [5000, 300_000]) {
      const ones = gpu.tensor([n], new Float32Array(n).fill(1));
      const pads: ReturnType<typeof gpu.empty>[] = [];
      let got: Promise<ArrayBuffer> | undefined;
      await gpu.submit((r) => {
        // past the recording's first submission, a buffer of n's size class read by a dispatch not yet
        // submitted, then released: writing the new tensor's data into it would change what it reads
        for (let k = 0; k < 20; k++) {
          pads.push(gpu.empty([n]));
          r.dispatch(`pad ${k}`, gpu.pipeline(AFFINE, { add: 0 }), [ones, pads[k]!], [1, 1]);
        }
        const old = gpu.tensor([n], new Float32Array(n).fill(2));
        const before = gpu.empty([n]);
        r.dispatch('before', gpu.pipeline(AFFINE, { add: 0 }), [old, before], [Math.ceil(n / 64), 1]);
        gpu.release(old);
        const x = gpu.tensor(
          [n],
          Float32Array.from({ length: n }, (_, i) => i % 7),
        );
        const y = gpu.empty([n]);
        r.dispatch('after', gpu.pipeline(AFFINE, { add: 1 }), [x, y], [Math.ceil(n / 64), 1]);
        got = Promise.all([r.read(before), r.read(y)]).then(([b, a]) => {
          expect(new Float32Array(b).every((v) => v === 6)).toBe(true);
          return a;
        });
      });
      const y = new Float32Array(await got!);
      expect(y.every((v, i) => v === (i % 7) * 3 + 1)).toBe(true);
      for (const t of [ones, ...pads]) gpu.release(t);
    }
  });

  it("uploads inputs in a recording's first submission, for the commands after them, small, large and from upload arrays", async () => {
    const queue = gpu.device.queue;
    const submit = queue.submit;
    let submissions = 0;
    queue.submit = (buffers) => {
      submissions++;
      submit.call(queue, buffers);
    };
    try {
      // twice, so that the second round's staging buffers are the first's, mapped again after their submission
      for (const round of [0, 1])
        for (const n of [40, 300_000]) {
          const values = Float32Array.from({ length: n }, (_, i) => ((i * 13 + round) % 101) - 50);
          for (const from of ['array', 'upload array'] as const) {
            const data = from === 'array' ? values : gpu.uploadArray(n);
            if (from === 'upload array') data.set(values);
            const x = gpu.empty([n]);
            const y = gpu.empty([n]);
            let got: Promise<ArrayBuffer> | undefined;
            submissions = 0;
            await gpu.submit((r) => {
              r.upload(x.buffer, data);
              r.dispatch('after upload', gpu.pipeline(AFFINE, { add: 1 }), [x, y], [Math.ceil(n / 64), 1]);
              got = r.read(y);
            });
            const where = `round ${round}, ${n} floats from an ${from}`;
            expect(submissions, where).toBe(1);
            const out = new Float32Array(await got!);
            expect(
              out.every((v, i) => v === values[i]! * 3 + 1),
              where,
            ).toBe(true);
            gpu.release(x);
            gpu.release(y);
          }
        }
    } finally {
      queue.submit = submit;
    }
  });

  it('refuses an upload after a command of its command buffer, and uploads after a recording that failed past its upload', async () => {
    const n = 300_000;
    const x = gpu.empty([n]);
    const y = gpu.empty([n]);
    const failed = gpu.submit((r) => {
      r.dispatch('first', gpu.pipeline(AFFINE, { add: 0 }), [x, y], [Math.ceil(n / 64), 1]);
      r.upload(x.buffer, new Float32Array(n));
    });
    await expect(failed).rejects.toThrow(/upload must come before the commands/);
    // a recording that fails after its upload leaves a staging buffer unmapped, its copy never submitted
    await expect(
      gpu.submit((r) => {
        r.upload(
          x.buffer,
          Float32Array.from({ length: n }, () => 9),
        );
        throw new Error('recording failed');
      }),
    ).rejects.toThrow('recording failed');
    const values = Float32Array.from({ length: n }, (_, i) => i % 5);
    let got: Promise<ArrayBuffer> | undefined;
    await gpu.submit((r) => {
      r.upload(x.buffer, values);
      r.dispatch('after', gpu.pipeline(AFFINE, { add: 0 }), [x, y], [Math.ceil(n / 64), 1]);
      got = r.read(y);
    });
    expect(new Float32Array(await got!).every((v, i) => v === (i % 5) * 3)).toBe(true);
    gpu.release(x);
    gpu.release(y);
  });

  it('rejects a recording that fails, and the reads it asked for, with the same error', async () => {
    const t = gpu.tensor([4], new Float32Array([1, 2, 3, 4]));
    let data: Promise<ArrayBuffer> | undefined;
    const failed = gpu.submit((r) => {
      data = r.read(t);
      throw new Error('recording failed');
    });
    await expect(failed).rejects.toThrow('recording failed');
    await expect(data).rejects.toThrow('recording failed');
    // the device is still usable afterwards
    expect([...(await gpu.read(t))]).toEqual([1, 2, 3, 4]);
    gpu.release(t);
  });
});
