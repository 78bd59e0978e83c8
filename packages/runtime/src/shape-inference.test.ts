import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Graph } from './graph.js';
import { importOnnx } from './onnx.js';
import { exportOnnx } from './onnx-export.js';
import { opDef } from './ops/registry.js';
import { optimize } from './passes.js';
import { inferShapes } from './shape-inference.js';
import { float32, sizeOf, type Tensor } from './tensor.js';
import { ZOO } from './zoo/models.js';

const MODELS = new URL('../../../../shared/models/', import.meta.url);

/** Every value's shape from an actual CPU run (nothing freed). */
function runShapes(g: Graph, input: Tensor): Map<string, readonly number[]> {
  const values = new Map<string, Tensor>([...g.initializers, ['input', input]]);
  for (const n of g.nodes) {
    const outs = opDef(n.op).run(
      n,
      n.inputs.map((v) => (v === '' ? undefined : values.get(v))),
      g,
    );
    for (const [k, o] of n.outputs.entries()) values.set(o, outs[k]!);
  }
  return new Map([...values].map(([k, t]) => [k, t.shape]));
}

describe('static shape inference equals the shapes of a real run', () => {
  const cases: [string, () => Graph][] = [
    [
      'squeezenet1_1 (ONNX)',
      () => importOnnx(new Uint8Array(readFileSync(new URL('squeezenet1_1.onnx', MODELS)))),
    ],
    [
      'mobilenet_v2 (ONNX)',
      () => importOnnx(new Uint8Array(readFileSync(new URL('mobilenet_v2.onnx', MODELS)))),
    ],
    [
      'shufflenet-v2 (Shape, Gather, Slice, Split, Reshape, Transpose)',
      () => importOnnx(exportOnnx(ZOO['shufflenet-v2']!.build({ size: 64 }))),
    ],
  ];
  for (const [name, build] of cases) {
    it(name, () => {
      const g = build();
      const shape = g.inputs[0]!.shape.map((d) => (d < 0 ? 1 : d));
      const actual = runShapes(
        g,
        float32(
          shape,
          Float32Array.from({ length: sizeOf(shape) }, (_, i) => Math.sin(i)),
        ),
      );
      const inferred = inferShapes(g);
      for (const n of g.nodes)
        for (const o of n.outputs) expect(inferred.get(o)?.shape, `${n.op} ${o}`).toEqual(actual.get(o));
      const optimized = optimize(g);
      expect(inferShapes(optimized).get('output')?.shape).toEqual(actual.get('output'));
    });
  }

  it('follows other input sizes', () => {
    const g = ZOO['resnet-18']!.build({ size: 64, init: 'zeros' });
    expect(inferShapes(g, { input: [4, 3, 96, 96] }).get('output')?.shape).toEqual([4, 1000]);
  });
});
