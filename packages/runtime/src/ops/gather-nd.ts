import { strides } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { sizeOf, type Tensor } from '../tensor.js';
import { gatherFlat } from './expand.js';
import type { OpDef } from './types.js';
import { need } from './util.js';
import { wrapIndex } from './wrap-index.js';

/**
 * What the index tuples of GatherND and ScatterND (along the last axis of `indices`, addressing
 * `data` past its first `batch` axes) select: the tuple length `depth`, the size `slice` of each
 * selected slice, and the gathered `shape`, indices.shape[:-1] followed by the slice's dimensions.
 */
export function ndSlices(
  node: GraphNode,
  data: readonly number[],
  indices: readonly number[],
  batch: number,
): { depth: number; slice: number; shape: number[] } {
  const depth = indices.at(-1) ?? -1;
  if (
    batch < 0 ||
    indices.length < batch + 1 ||
    depth < 0 ||
    batch + depth > data.length ||
    indices.slice(0, batch).some((d, i) => d !== data[i])
  )
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (${node.op}) has indices of shape [${indices.join(', ')}] for data of shape [${data.join(', ')}] with ${batch} batch axes; the indices need those batch axes and a last axis of at most the remaining data rank.`,
    );
  return {
    depth,
    slice: sizeOf(data.slice(batch + depth)),
    shape: [...indices.slice(0, -1), ...data.slice(batch + depth)],
  };
}

/** For each index tuple of `indices`, the flat offset in `data` of the slice it addresses. */
export function ndOffsets(
  node: GraphNode,
  data: readonly number[],
  indices: Tensor,
  batch: number,
): number[] {
  const { depth } = ndSlices(node, data, indices.shape, batch);
  const sd = strides(data);
  const perBatch = sizeOf(indices.shape.slice(batch, -1));
  const tuples = sizeOf(indices.shape.slice(0, -1));
  return Array.from({ length: tuples }, (_, t) => {
    // the batch coordinates are the tuple's own leading ones, which equal the data's there
    let at = Math.floor(t / perBatch) * (batch > 0 ? sd[batch - 1]! : 0);
    for (let j = 0; j < depth; j++)
      at += wrapIndex(node, indices.data[t * depth + j]!, data[batch + j]!) * sd[batch + j]!;
    return at;
  });
}

const batchDims = (node: GraphNode) => attrNumber(node, 'batch_dims', 0);

/** GatherND: the slices of `data` that the index tuples in the last axis of `indices` address. */
export const gatherND: OpDef = {
  op: 'GatherND',
  infer(node, inputs) {
    const data = need(node, inputs, 0);
    const { shape } = ndSlices(node, data.shape, need(node, inputs, 1).shape, batchDims(node));
    return [{ shape, dtype: data.dtype }];
  },
  run(node, inputs) {
    const data = need(node, inputs, 0);
    const indices = need(node, inputs, 1);
    const batch = batchDims(node);
    const { slice, shape } = ndSlices(node, data.shape, indices.shape, batch);
    const source = new Uint32Array(sizeOf(shape));
    ndOffsets(node, data.shape, indices, batch).forEach((at, t) => {
      for (let i = 0; i < slice; i++) source[t * slice + i] = at + i;
    });
    return [gatherFlat(data, shape, source)];
  },
};
