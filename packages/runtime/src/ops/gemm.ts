import { applyActivation, binaryReference } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber } from '../graph.js';
import { asFloat32, float32 } from '../tensor.js';
import { fusedActivation } from './conv.js';
import { fcGpu } from './fc.js';
import { matmulInto } from './matmul.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

function dims(a: readonly number[], b: readonly number[], transA: boolean, transB: boolean) {
  const [m, k] = transA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  return { m, k, kb: transB ? b[1]! : b[0]!, n: transB ? b[0]! : b[1]! };
}

export const gemm: OpDef = {
  op: 'Gemm',
  infer(node, inputs) {
    const { m, n } = dims(
      need(node, inputs, 0).shape,
      need(node, inputs, 1).shape,
      attrNumber(node, 'transA', 0) === 1,
      attrNumber(node, 'transB', 0) === 1,
    );
    return [{ shape: [m, n], dtype: 'float32' }];
  },
  run(node, inputs) {
    const a = need(node, inputs, 0);
    const b = need(node, inputs, 1);
    const aT = attrNumber(node, 'transA', 0) === 1;
    const bT = attrNumber(node, 'transB', 0) === 1;
    const { m, k, kb, n } = dims(a.shape, b.shape, aT, bT);
    if (kb !== k)
      throw new RuntimeError(
        'invalid-input',
        `Gemm '${node.name}': [${a.shape}] and [${b.shape}] do not multiply.`,
      );
    const y = new Float32Array(m * n);
    const c = inputs[2];
    if (c) {
      const beta = attrNumber(node, 'beta', 1);
      y.set(
        binaryReference(new Float32Array(m * n), [m, n], asFloat32(c, 'Gemm C'), c.shape, (_z, v) => beta * v)
          .data,
      );
    }
    matmulInto(
      asFloat32(a, 'Gemm A'),
      asFloat32(b, 'Gemm B'),
      m,
      k,
      n,
      aT,
      bT,
      y,
      0,
      attrNumber(node, 'alpha', 1),
    );
    const act = fusedActivation(node);
    if (act !== 'none') for (let i = 0; i < y.length; i++) y[i] = applyActivation(y[i]!, act);
    return [float32([m, n], y)];
  },
  gpu: fcGpu,
};
