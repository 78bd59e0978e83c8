import { readFileSync } from 'node:fs';
import { seededRandom } from '@zeroskip/quant';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { importOnnx, runCpu, tensor } from './index.js';

// Torchvision and timm networks as their exporters write them (test-models/architectures/README.md):
// the graphs are kept whole, the weights are replaced by seeded values here. Each is compared with
// ONNX Runtime through import and the CPU executor, which every WebGPU kernel is checked against.

interface Architecture {
  readonly id: string;
  readonly model: string;
  readonly exporter: string;
  readonly opset: number;
  readonly input: readonly number[];
}

const DIR = new URL('../test-models/architectures/', import.meta.url);
const { models } = JSON.parse(readFileSync(new URL('manifest.json', DIR), 'utf8')) as {
  models: Architecture[];
};

const { onnx } = onnxProto;
/** The per-tensor statistics a stripped initializer keeps in its doc string. */
interface Stats {
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
}

/** Layers whose input 1 is a weight: filled He-normal over its fan-in, so activations keep their scale. */
const WEIGHT_INPUT = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** The model with every stripped tensor filled: weights He-normal, the rest from their statistics. */
function filled(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const weights = new Set(
    (graph.node ?? []).filter((n) => WEIGHT_INPUT.has(n.opType ?? '')).map((n) => n.input?.[1]),
  );
  const normal = (() => {
    const rand = seededRandom(7);
    return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  })();
  const fill = (t: onnxProto.onnx.ITensorProto) => {
    if (!t.docString || t.dataType !== onnx.TensorProto.DataType.FLOAT) return;
    const dims = (t.dims ?? []).map(Number);
    const { mean, std, min, max } = JSON.parse(t.docString) as Stats;
    // OIHW and [out, in] weights have their fan-in after dim 0; MatMul's [in, out] before the last
    const fanIn = t.name && weights.has(t.name) ? dims.reduce((a, d) => a * d, 1) / (dims[0] ?? 1) : 0;
    const data = Float32Array.from({ length: dims.reduce((a, d) => a * d, 1) }, () =>
      fanIn > 0 ? normal() * Math.sqrt(2 / fanIn) : Math.min(max, Math.max(min, mean + std * normal())),
    );
    t.rawData = new Uint8Array(data.buffer);
    t.docString = '';
  };
  for (const t of graph.initializer ?? []) fill(t);
  for (const n of graph.node ?? []) for (const a of n.attribute ?? []) if (a.t) fill(a.t);
  return onnx.ModelProto.encode(model).finish();
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('exported torchvision and timm architectures against ONNX Runtime (CPU executor)', () => {
  for (const arch of models)
    it(`${arch.id}: ${arch.model}, ${arch.exporter}, opset ${arch.opset}`, async () => {
      const bytes = filled(new Uint8Array(readFileSync(new URL(`${arch.id}.onnx`, DIR))));
      const rand = seededRandom(99);
      const x = Float32Array.from({ length: arch.input.reduce((a, d) => a * d, 1) }, () => 2 * rand() - 1);
      const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
      const name = session.inputNames[0]!;
      const want = await session.run({ [name]: new ort.Tensor('float32', x, arch.input) });
      await session.release();
      const got = runCpu(importOnnx(bytes), { [name]: tensor('float32', arch.input, x) });
      for (const [output, w] of Object.entries(want)) {
        const wd = w.data as Float32Array;
        const scale = maxAbs(wd);
        // the filled weights keep activations from vanishing into float32's rounding floor
        expect(scale, `output '${output}' max |y|`).toBeGreaterThan(1e-6);
        expect(got[output]?.shape).toEqual(w.dims);
        const gd = got[output]!.data as Float32Array;
        const diff = maxAbs(wd.map((v, i) => v - gd[i]!));
        expect(diff, `output '${output}': max |y − y_ort| of max |y_ort| ${scale}`).toBeLessThanOrEqual(
          1e-4 * scale,
        );
      }
    });
});
