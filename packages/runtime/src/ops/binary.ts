import { type BinaryOp, binaryReference, broadcastShape, encodeBinary } from '@zeroskip/gpu';
import { tensor } from '../tensor.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

/**
 * Add, Sub, Mul and Div with broadcasting. int64 operands (shape arithmetic) are computed exactly and
 * stay int64, with Div truncating toward zero as ONNX's integer division does.
 */
function binary(op: string, kernel: BinaryOp, f: (a: number, b: number) => number): OpDef {
  const exactOp = kernel === 'div' ? (a: number, b: number) => Math.trunc(a / b) : f;
  return {
    op,
    infer(node, inputs) {
      const a = need(node, inputs, 0);
      return [{ shape: broadcastShape(a.shape, need(node, inputs, 1).shape), dtype: a.dtype }];
    },
    run(node, inputs) {
      const a = need(node, inputs, 0);
      const b = need(node, inputs, 1);
      const exact = a.dtype === 'int64' && b.dtype === 'int64';
      const r = binaryReference(
        a.data,
        a.shape,
        b.data,
        b.shape,
        exact ? exactOp : f,
        exact ? 'float64' : 'float32',
      );
      return [tensor(exact ? 'int64' : 'float32', r.shape, r.data)];
    },
    gpu: {
      plan: (_node, inputs) =>
        inputs[0]?.dtype === 'float32' && inputs[1]?.dtype === 'float32'
          ? { kernel: `binary-${kernel}` }
          : undefined,
      encode(_node, ctx, outputs) {
        const y = ctx.empty(outputs[0]!.shape);
        encodeBinary(ctx.r, ctx.input(0), ctx.input(1), y, kernel);
        return [y];
      },
    },
  };
}

export const binaryOps: readonly OpDef[] = [
  binary('Add', 'add', (a, b) => a + b),
  binary('Sub', 'sub', (a, b) => a - b),
  binary('Mul', 'mul', (a, b) => a * b),
  binary('Div', 'div', (a, b) => a / b),
];
