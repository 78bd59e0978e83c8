import { readFileSync } from 'node:fs';
import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { seededRandom } from '@zeroskip/quant';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { importOnnx } from './onnx.js';
import { optimize } from './passes.js';
import { float32, type Tensor } from './tensor.js';
import { WebGpuSession } from './webgpu-session.js';

const MODELS = new URL('../../../../shared/models/', import.meta.url);
const bytes = new Uint8Array(readFileSync(new URL('lenet5.onnx', MODELS)));
const INPUT = importOnnx(bytes).inputs[0]!.name;

const devices: Gpu[] = [];
/** A fresh device per session, so that no pipeline is built before the one under test asks. */
async function session(): Promise<WebGpuSession> {
  const gpu = await requestDevice();
  devices.push(gpu);
  return WebGpuSession.create(optimize(importOnnx(bytes)), { gpu });
}

afterAll(() => {
  for (const gpu of devices) gpu.destroy();
});

function randomInput(seed: number): Tensor {
  const rand = seededRandom(seed);
  return float32(
    [1, 1, 28, 28],
    Float32Array.from({ length: 28 * 28 }, () => rand() * 2 - 1),
  );
}

describe('WebGpuSession.compile', () => {
  it('reports every pipeline as it is built, and the first run then builds none', async () => {
    const s = await session();
    const calls: [number, number, string][] = [];
    const inputs = { [INPUT]: randomInput(1) };
    const built = await s.compile(inputs, { onProgress: (d, t, label) => calls.push([d, t, label]) });

    expect(built).toBeGreaterThan(0);
    expect(calls.map(([d]) => d)).toEqual(Array.from({ length: built }, (_, i) => i + 1));
    expect(new Set(calls.map(([, t]) => t))).toEqual(new Set([built]));
    expect(new Set(calls.map(([, , label]) => label)).size).toBe(built);
    expect(s.gpu.pipelineCount).toBe(built);

    await s.run(inputs);
    expect(s.gpu.pipelineCount).toBe(built);
    // the same shapes again find every pipeline built
    expect(await s.compile(inputs)).toBe(0);
  }, 120_000);

  it('gives a first run with the outputs of an uncompiled session and of ONNX Runtime', async () => {
    const ref = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
    const [compiled, plain] = [await session(), await session()];
    for (const seed of [2, 3]) {
      const x = randomInput(seed);
      const inputs = { [INPUT]: x };
      await compiled.compile(inputs);
      const got = await compiled.run(inputs);
      const again = await plain.run(inputs);
      const want = await ref.run({ [INPUT]: new ort.Tensor('float32', x.data, x.shape) });
      for (const out of ref.outputNames) {
        const y = got[out]!;
        expect(Array.from(y.data)).toEqual(Array.from(again[out]!.data));
        const w = want[out]!.data as Float32Array;
        expect(y.shape).toEqual([...want[out]!.dims]);
        const scale = Math.max(1, ...Array.from(w, Math.abs));
        for (let i = 0; i < w.length; i++) expect(Math.abs(y.data[i]! - w[i]!)).toBeLessThan(1e-4 * scale);
      }
    }
  }, 120_000);
});
