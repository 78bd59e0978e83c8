import { RuntimeError } from '../errors.js';
import { activationOps } from './activations.js';
import { argMax, argMin } from './arg-extreme.js';
import { batchNormalization } from './batch-normalization.js';
import { binaryOps } from './binary.js';
import { castLike, castOp } from './cast.js';
import { compareOps } from './compare.js';
import { compress } from './compress.js';
import { concat } from './concat.js';
import { constant } from './constant.js';
import { constantOfShape } from './constant-of-shape.js';
import { conv } from './conv.js';
import { convPoolSign } from './conv-pool-sign.js';
import { convTranspose } from './conv-transpose.js';
import { cumSum } from './cum-sum.js';
import { depthToSpace, spaceToDepth } from './depth-to-space.js';
import { einsum } from './einsum.js';
import { expand } from './expand.js';
import { eyeLike } from './eye-like.js';
import { gather } from './gather.js';
import { gatherElements } from './gather-elements.js';
import { gatherND } from './gather-nd.js';
import { gemm } from './gemm.js';
import { globalLpPool, globalMaxPool } from './global-pool.js';
import { groupNormalization } from './group-normalization.js';
import { instanceNormalization } from './instance-normalization.js';
import { layerNormalization } from './layer-normalization.js';
import { lpNormalization } from './lp-normalization.js';
import { lpPool } from './lp-pool.js';
import { lrn } from './lrn.js';
import { matMul } from './matmul.js';
import { meanVarianceNormalization } from './mean-variance-normalization.js';
import { mod } from './mod.js';
import { nonZero } from './non-zero.js';
import { oneHot } from './one-hot.js';
import { pad } from './pad.js';
import { poolOps } from './pool.js';
import { poolConv } from './pool-conv.js';
import { pow } from './pow.js';
import { prelu } from './prelu.js';
import { qlinearOps } from './qlinear.js';
import { quantConv } from './quant-conv.js';
import { quantizeLinearOps } from './quantize-linear.js';
import { range } from './range.js';
import { reduceOps } from './reduce.js';
import { resizeOp } from './resize.js';
import { reverseSequence } from './reverse-sequence.js';
import { scatterElements, scatterND } from './scatter.js';
import { shape, size } from './shape.js';
import { slice } from './slice.js';
import { softmaxOps } from './softmax.js';
import { split } from './split.js';
import { tile } from './tile.js';
import { topK } from './top-k.js';
import { transpose } from './transpose.js';
import { trilu } from './trilu.js';
import type { OpDef } from './types.js';
import { unaryMathOps } from './unary-math.js';
import { variadicOps } from './variadic.js';
import { viewOps } from './views.js';
import { where } from './where.js';

// Every op the runtime executes, one line per module: the supported-op list, shape inference, both
// executors and the planner all read this table.
const DEFS: readonly OpDef[] = [
  conv,
  quantConv,
  convPoolSign,
  poolConv,
  gemm,
  matMul,
  batchNormalization,
  ...activationOps,
  ...poolOps,
  ...binaryOps,
  concat,
  ...viewOps,
  transpose,
  split,
  slice,
  gather,
  shape,
  size,
  ...reduceOps,
  resizeOp,
  convTranspose,
  lrn,
  instanceNormalization,
  layerNormalization,
  groupNormalization,
  argMax,
  argMin,
  depthToSpace,
  spaceToDepth,
  ...softmaxOps,
  constant,
  pad,
  ...unaryMathOps,
  prelu,
  pow,
  ...variadicOps,
  ...compareOps,
  where,
  castOp,
  castLike,
  expand,
  tile,
  constantOfShape,
  range,
  eyeLike,
  globalMaxPool,
  globalLpPool,
  lpPool,
  lpNormalization,
  meanVarianceNormalization,
  topK,
  gatherElements,
  gatherND,
  scatterElements,
  scatterND,
  oneHot,
  cumSum,
  mod,
  trilu,
  nonZero,
  compress,
  einsum,
  reverseSequence,
  ...quantizeLinearOps,
  ...qlinearOps,
];

const REGISTRY: ReadonlyMap<string, OpDef> = new Map(DEFS.map((d) => [d.op, d]));

/** Every ONNX op this runtime executes, sorted. */
export const SUPPORTED_OPS: readonly string[] = [...REGISTRY.keys()].sort();

export function isSupportedOp(op: string): boolean {
  return REGISTRY.has(op);
}

/** The definition of a supported op (callers validate the graph first, so a miss is a bug). */
export function opDef(op: string): OpDef {
  const d = REGISTRY.get(op);
  if (!d)
    throw new RuntimeError(
      'unsupported-op',
      `op ${op} is not supported; supported ops: ${SUPPORTED_OPS.join(', ')}.`,
    );
  return d;
}
