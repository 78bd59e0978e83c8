import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { runCpu } from './cpu-session.js';
import { RuntimeError } from './errors.js';
import { readNpy, writeNpy } from './npy.js';
import { importOnnx } from './onnx.js';
import { exportOnnx } from './onnx-export.js';
import { optimize } from './passes.js';
import { float32, int64 } from './tensor.js';
import { ZOO } from './zoo/models.js';

const { onnx } = onnxProto;
const MODELS = new URL('../../../../shared/models/', import.meta.url);
const load = (f: string) => new Uint8Array(readFileSync(new URL(f, MODELS)));

/** |got − want| ≤ 1e-4·max|want| + 1e-5, the acceptance bound against ONNX Runtime. */
function expectOrtClose(got: Float32Array, want: Float32Array): void {
  const tol = 1e-4 * want.reduce((m, v) => Math.max(m, Math.abs(v)), 0) + 1e-5;
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('CPU executor on the reference models (ONNX Runtime outputs)', () => {
  for (const name of ['lenet5', 'squeezenet1_1', 'mobilenet_v2']) {
    it(`${name}: raw and optimized graphs match within 1e-4·max|y| + 1e-5`, () => {
      const graph = importOnnx(load(`${name}.onnx`));
      const input = readNpy(load(`${name}.input.npy`));
      const want = readNpy(load(`${name}.output.npy`)).data as Float32Array;
      const optimized = optimize(graph);
      expect(optimized.nodes.length).toBeLessThanOrEqual(graph.nodes.length);
      for (const g of [graph, optimized]) {
        const out = runCpu(g, { input }).output!;
        expectOrtClose(out.data as Float32Array, want);
      }
    });
  }
});

describe('import details', () => {
  it('reads external initializers through the externalData callback, and names a missing one', () => {
    const model = onnx.ModelProto.decode(load('lenet5.onnx'));
    const init = model.graph!.initializer!.find((t) => t.name === 'c1.weight')!;
    const data = new Uint8Array(init.rawData!);
    const file = new Uint8Array(16 + data.length);
    file.set(data, 16);
    init.rawData = new Uint8Array(0);
    init.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    init.externalData = [
      { key: 'location', value: 'lenet5.onnx.data' },
      { key: 'offset', value: '16' },
      { key: 'length', value: String(data.length) },
    ];
    const bytes = onnx.ModelProto.encode(model).finish();
    const graph = importOnnx(bytes, {
      externalData: (location) => (location === 'lenet5.onnx.data' ? file : new Uint8Array(0)),
    });
    expect(Array.from(graph.initializers.get('c1.weight')!.data)).toEqual(
      Array.from(new Float32Array(data.slice().buffer)),
    );
    expect(() => importOnnx(bytes)).toThrow(/lives in 'lenet5.onnx.data'/);
    expect(() => importOnnx(bytes, { externalData: () => file.subarray(0, 20) })).toThrow(/lies outside/);
  });

  it('folds Shape → Gather → Unsqueeze → Concat → Reshape when the input shape is static', () => {
    const g = importOnnx(exportOnnx(ZOO['shufflenet-v2']!.build({ size: 32, init: 'zeros' })));
    const ops = (graph: typeof g) => new Set(graph.nodes.map((n) => n.op));
    expect(ops(g).has('Shape')).toBe(true);
    const optimized = optimize(g);
    for (const op of ['Shape', 'Gather', 'Unsqueeze']) expect(ops(optimized).has(op)).toBe(false);
    const free = optimize({
      ...g,
      inputs: g.inputs.map((i) => ({ ...i, shape: [-1, ...i.shape.slice(1)] })),
    });
    expect(ops(free).has('Shape')).toBe(true);
  });
});

describe('.npy', () => {
  it('round-trips float32, int64 and uint8 and reads NumPy-written files', () => {
    for (const t of [
      float32([2, 3], Float32Array.from([1, 2, 3, 4, 5, -6.5])),
      int64([3], [1, -2, 2 ** 40]),
      { dtype: 'uint8' as const, shape: [4], data: Uint8Array.from([0, 1, 254, 255]) },
      float32([], Float32Array.of(7)),
    ]) {
      const back = readNpy(writeNpy(t));
      expect(back.dtype).toBe(t.dtype);
      expect(back.shape).toEqual(t.shape);
      expect(Array.from(back.data)).toEqual(Array.from(t.data));
    }
    expect(readNpy(load('lenet5.input.npy')).shape).toEqual([1, 1, 28, 28]);
  });

  it('rejects truncated and corrupt files with RuntimeError', () => {
    const good = writeNpy(float32([8], new Float32Array(8)));
    for (const bad of [
      good.subarray(0, 20),
      good.subarray(0, good.length - 4),
      Uint8Array.from([1, 2, 3]),
      new TextEncoder().encode("\x93NUMPY\x01\x00\x10\x00{'descr': '<c8'}"),
    ]) {
      expect(() => readNpy(bad)).toThrow(RuntimeError);
    }
  });
});

describe('bad input', () => {
  const graph = importOnnx(load('lenet5.onnx'));
  it('names missing inputs, wrong shapes and NaN', () => {
    expect(() => runCpu(graph, {})).toThrow(/input 'input' is missing/);
    expect(() => runCpu(graph, { input: float32([1, 1, 28, 27]) })).toThrow(/expects \[1, 1, 28, 28\]/);
    const nan = new Float32Array(784);
    nan[5] = Number.NaN;
    expect(() => runCpu(graph, { input: float32([1, 1, 28, 28], nan) })).toThrow(/NaN at element 5/);
    for (const [at, v] of [
      [0, Number.POSITIVE_INFINITY],
      [783, Number.NEGATIVE_INFINITY],
    ] as const) {
      const x = new Float32Array(784);
      x[at] = v;
      expect(() => runCpu(graph, { input: float32([1, 1, 28, 28], x) })).toThrow(
        `holds ${v} at element ${at}`,
      );
    }
  });
  it('rejects corrupt model bytes and unsupported ops by name', () => {
    expect(() => importOnnx(Uint8Array.from([1, 2, 3, 4, 5]))).toThrow(RuntimeError);
    const model = onnx.ModelProto.decode(load('lenet5.onnx'));
    const [relu, pool] = model.graph!.node!.filter((n) => n.opType === 'Relu' || n.opType === 'MaxPool');
    relu!.opType = 'Relx';
    pool!.opType = 'Poolx';
    const patched = onnx.ModelProto.encode(model).finish();
    // every unsupported op at once, each with its node, so one attempt shows the whole gap
    expect(() => importOnnx(patched)).toThrow(
      new RegExp(
        `2 ops used by 2 nodes are not supported: Relx \\(node '${relu!.name}'\\), Poolx \\(node '${pool!.name}'\\); supported ops: .*Conv`,
      ),
    );
    model.opsetImport[0]!.version = 6;
    expect(() => importOnnx(onnx.ModelProto.encode(model).finish())).toThrow(/opset 6/);
  });
});
