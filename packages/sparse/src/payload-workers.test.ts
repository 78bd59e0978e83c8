import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError } from './errors.js';
import { decodeWeightPayloadCsr, encodeWeightPayload } from './payload.js';
import { decodeWeightPayloadsCsr, type PayloadReply } from './payload-workers.js';
import { randomSparse, sparseMatrix } from './test-arbitraries.js';

// Tests run from source, which has no worker script beside it: they start the built one.
const workerUrl = new URL('../dist/payload-worker.js', import.meta.url);

describe('the payload worker', () => {
  it('says it is ready, then answers each payload with its CSR or its FormatError', async () => {
    const w = new Worker(workerUrl);
    const replies: PayloadReply[] = [];
    const answered = new Promise<void>((resolve) =>
      w.on('message', (r: PayloadReply) => {
        replies.push(r);
        if (replies.length === 4) resolve();
      }),
    );
    const payloads = [7, 8].map(
      (seed) =>
        encodeWeightPayload(randomSparse(30, 70, 0.25, seed), { indexBits: 3, huffman: { index: true } })
          .bytes,
    );
    payloads.forEach((bytes, id) => {
      w.postMessage({ id, bytes });
    });
    w.postMessage({ id: 2, bytes: payloads[0]!.subarray(0, 20) });
    await answered;
    await w.terminate();
    expect(replies[0]).toEqual({ ready: true });
    expect(replies.slice(1, 3)).toEqual(
      payloads.map((bytes, id) => ({ id, csr: decodeWeightPayloadCsr(bytes) })),
    );
    expect(replies[3]).toEqual({
      id: 2,
      error: { code: 'truncated', message: expect.stringMatching(/header/) },
    });
  });
});

describe('decodeWeightPayloadsCsr', () => {
  it('decodes on workers exactly what the calling thread decodes, in the order given', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(sparseMatrix, fc.integer({ min: 1, max: 12 }), fc.boolean()), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.integer({ min: 1, max: 3 }),
        async (cases, workers) => {
          const payloads = cases.map(([m, indexBits, huffman]) => ({
            bytes: encodeWeightPayload(m, { indexBits, huffman: { index: huffman } }).bytes,
          }));
          const want = payloads.map((p) => decodeWeightPayloadCsr(p.bytes));
          expect(await decodeWeightPayloadsCsr(payloads, { workers, workerUrl })).toEqual(want);
          expect(await decodeWeightPayloadsCsr(payloads, { workers: 0 })).toEqual(want);
        },
      ),
      { numRuns: 6 },
    );
  });

  it('leaves the caller’s bytes as they were, though workers take payloads', async () => {
    // enough work that the worker is ready, and takes payloads, long before this thread is done
    const jobs = Array.from({ length: 60 }, (_, seed) => ({
      bytes: encodeWeightPayload(randomSparse(300, 1000, 0.3, seed + 1), { indexBits: 4 }).bytes,
    }));
    const before = jobs.map((j) => j.bytes.slice());
    await decodeWeightPayloadsCsr(jobs, { workers: 1, workerUrl });
    jobs.forEach((j, i) => {
      expect(Buffer.from(j.bytes).equals(before[i]!)).toBe(true);
    });
  });

  it('rejects with the FormatError of a payload that does not decode, and of a limit it exceeds', async () => {
    const good = encodeWeightPayload(randomSparse(40, 50, 0.3, 5), { indexBits: 4 }).bytes;
    const bad = good.slice(0, 40);
    // the larger payload goes to the worker, the smaller to the calling thread: both ways round
    for (const jobs of [
      [{ bytes: good }, { bytes: bad }],
      [{ bytes: good.slice(0, 60) }, { bytes: good.subarray(0, 30) }],
    ]) {
      const err = await decodeWeightPayloadsCsr(jobs, { workers: 1, workerUrl }).catch((e) => e);
      expect(err).toBeInstanceOf(FormatError);
      expect(err.code).toBe('truncated');
    }
    const limited = await decodeWeightPayloadsCsr([{ bytes: good, maxElements: 1000 }, { bytes: good }], {
      workers: 1,
      workerUrl,
    }).catch((e) => e);
    expect(limited.code).toBe('limit-exceeded');
  });

  it('decodes on the calling thread what a worker that cannot start was to decode', async () => {
    const jobs = [1, 2, 3].map((seed) => ({
      bytes: encodeWeightPayload(randomSparse(40, 90, 0.3, seed), { indexBits: 5 }).bytes,
    }));
    const got = await decodeWeightPayloadsCsr(jobs, {
      workers: 2,
      workerUrl: new URL('./no-such-worker.js', import.meta.url),
    });
    expect(got).toEqual(jobs.map((j) => decodeWeightPayloadCsr(j.bytes)));
  });

  it('finishes without a worker that stops answering, decoding what it holds here', async () => {
    // enough work that the worker is ready, and takes payloads, long before this thread is done
    const { bytes } = encodeWeightPayload(randomSparse(300, 1000, 0.3, 5), { indexBits: 4 });
    const jobs = Array.from({ length: 60 }, () => ({ bytes }));
    const got = await decodeWeightPayloadsCsr(jobs, {
      workers: 1,
      workerUrl: new URL('./silent-worker.fixture.mjs', import.meta.url),
    });
    const want = decodeWeightPayloadCsr(bytes);
    const same = (a: ArrayBufferView, b: ArrayBufferView) =>
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
        Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      );
    for (const g of got)
      expect([
        g.rows,
        g.cols,
        same(g.rowPtr, want.rowPtr),
        same(g.colIdx, want.colIdx),
        same(g.values, want.values),
      ]).toEqual([want.rows, want.cols, true, true, true]);
  });

  it('refuses a worker count that is not a small non-negative integer', async () => {
    await expect(decodeWeightPayloadsCsr([], { workers: -1 })).rejects.toThrow(/workers/);
  });
});
