import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { type DType, NUMERIC_DTYPES, type Tensor } from '../tensor.js';
import { expectDtype } from './cast.js';
import { broadcastShapes, mapBroadcast } from './expand.js';
import type { OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

type Inputs = Parameters<OpDef['infer']>[1];

/** Both operands, of one dtype the op takes. */
function operands<T extends Tensor | ValueInfo>(
  node: GraphNode,
  inputs: readonly (T | undefined)[],
  dtypes: readonly DType[],
): [T, T] {
  const a = need(node, inputs, 0);
  const b = need(node, inputs, 1);
  expectDtype(node, a.dtype, dtypes);
  if (a.dtype !== b.dtype)
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (${node.op}) compares ${a.dtype} with ${b.dtype}; cast both to one dtype.`,
    );
  return [a, b];
}

/** A broadcasting comparison or logical op with a bool result. */
function predicate(op: string, dtypes: readonly DType[], f: (a: number, b: number) => boolean): OpDef {
  return {
    op,
    infer(node, inputs: Inputs) {
      const [a, b] = operands(node, inputs, dtypes);
      return [{ shape: broadcastShapes(node, [a.shape, b.shape]), dtype: 'bool' }];
    },
    run(node, inputs) {
      return [mapBroadcast(node, operands(node, inputs, dtypes), 'bool', ([a, b]) => (f(a!, b!) ? 1 : 0))];
    },
  };
}

export const compareOps: readonly OpDef[] = [
  predicate('Equal', [...NUMERIC_DTYPES, 'bool'], (a, b) => a === b),
  predicate('Less', NUMERIC_DTYPES, (a, b) => a < b),
  predicate('LessOrEqual', NUMERIC_DTYPES, (a, b) => a <= b),
  predicate('Greater', NUMERIC_DTYPES, (a, b) => a > b),
  predicate('GreaterOrEqual', NUMERIC_DTYPES, (a, b) => a >= b),
  predicate('And', ['bool'], (a, b) => a !== 0 && b !== 0),
  predicate('Or', ['bool'], (a, b) => a !== 0 || b !== 0),
  predicate('Xor', ['bool'], (a, b) => (a !== 0) !== (b !== 0)),
];
