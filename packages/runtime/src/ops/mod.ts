import { binaryReference, broadcastShape } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { type DType, tensor } from '../tensor.js';
import { storage } from './cast.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

/** The operands' common dtype; float32 takes fmod=1, which ONNX requires for floating point. */
function operands(node: GraphNode, a: DType, b: DType): DType {
  if (a !== b || a === 'bool')
    throw new RuntimeError(
      'invalid-input',
      `Mod '${node.name}' divides ${a} by ${b}; give two numeric operands of one type.`,
    );
  if (a === 'float32' && attrNumber(node, 'fmod', 0) !== 1)
    throw new RuntimeError(
      'invalid-model',
      `Mod '${node.name}' has fmod=0 on float32 operands, which ONNX leaves undefined; set fmod=1.`,
    );
  return a;
}

/**
 * Mod with broadcasting. fmod=1 truncates (C's fmod: the sign of the dividend); fmod=0, integers
 * only, floors (Python's %: the sign of the divisor). An integer division by zero is an error.
 */
export const mod: OpDef = {
  op: 'Mod',
  infer(node, inputs) {
    const a = need(node, inputs, 0);
    const b = need(node, inputs, 1);
    return [{ shape: broadcastShape(a.shape, b.shape), dtype: operands(node, a.dtype, b.dtype) }];
  },
  run(node, inputs) {
    const a = need(node, inputs, 0);
    const b = need(node, inputs, 1);
    const dtype = operands(node, a.dtype, b.dtype);
    const floored = attrNumber(node, 'fmod', 0) === 0;
    const r = binaryReference(
      a.data,
      a.shape,
      b.data,
      b.shape,
      (x, y) => {
        if (y === 0 && dtype !== 'float32')
          throw new RuntimeError(
            'invalid-input',
            `Mod '${node.name}' divides the integer ${x} by zero; integer divisors must be non-zero.`,
          );
        const t = x % y;
        const r = floored && t !== 0 && t < 0 !== y < 0 ? t + y : t;
        // + 0: integers have no −0 (float32 keeps C's signed zero)
        return dtype === 'float32' ? r : r + 0;
      },
      'float64',
    );
    const y = storage(dtype, r.data.length);
    y.set(r.data);
    return [tensor(dtype, r.shape, y)];
  },
};
