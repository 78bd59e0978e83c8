import { RuntimeError } from '../errors.js';
import { attrString, type GraphNode } from '../graph.js';
import { type Tensor, tensor } from '../tensor.js';
import { elementsAxis, elementTargets } from './gather-elements.js';
import { ndOffsets, ndSlices } from './gather-nd.js';
import type { OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

/** How an update joins the value it lands on (attribute reduction); updates apply in index order. */
const REDUCTIONS: Readonly<Record<string, (old: number, update: number) => number>> = {
  none: (_, u) => u,
  add: (a, u) => a + u,
  mul: (a, u) => a * u,
  max: Math.max,
  min: Math.min,
};

function reduction(node: GraphNode): (old: number, update: number) => number {
  const r = attrString(node, 'reduction', 'none');
  const f = REDUCTIONS[r];
  if (!f)
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (${node.op}) has reduction '${r}'; use one of ${Object.keys(REDUCTIONS).join(', ')}.`,
    );
  return f;
}

function checkUpdates(node: GraphNode, updates: Tensor | ValueInfo, shape: readonly number[]): void {
  if (updates.shape.join() !== shape.join())
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (${node.op}) has updates of shape [${updates.shape.join(', ')}] where its indices address [${shape.join(', ')}].`,
    );
}

/**
 * A scatter: a copy of `data` into which each update goes at the position `targets` gives it
 * (updates flat, in order; each target a run of `run` consecutive elements), joined by the reduction.
 */
function scatter(
  node: GraphNode,
  data: Tensor,
  updates: Tensor,
  targets: ArrayLike<number>,
  run: number,
): Tensor {
  const f = reduction(node);
  const y = data.data.slice();
  for (let t = 0; t < targets.length; t++)
    for (let i = 0; i < run; i++) {
      const at = targets[t]! + i;
      // + 0: int64 has no −0 (as −2 · 0 would give)
      y[at] = f(y[at]!, updates.data[t * run + i]!) + 0;
    }
  return tensor(data.dtype, data.shape, y);
}

/** ScatterElements (and Scatter, its name before opset 11): data with updates[i…] at data[i… with indices[i…] on axis]. */
export const scatterElements: OpDef = {
  op: 'ScatterElements',
  infer(node, inputs) {
    const [data, indices, updates] = [0, 1, 2].map((i) => need(node, inputs, i)) as [
      ValueInfo,
      ValueInfo,
      ValueInfo,
    ];
    elementsAxis(node, data, indices);
    checkUpdates(node, updates, indices.shape);
    reduction(node);
    return [{ shape: data.shape, dtype: data.dtype }];
  },
  run(node, inputs) {
    const [data, indices, updates] = [0, 1, 2].map((i) => need(node, inputs, i)) as [Tensor, Tensor, Tensor];
    const axis = elementsAxis(node, data, indices);
    checkUpdates(node, updates, indices.shape);
    return [scatter(node, data, updates, elementTargets(node, data.shape, indices, axis), 1)];
  },
};

/** ScatterND: data with each update slice written to the slice its index tuple addresses. */
export const scatterND: OpDef = {
  op: 'ScatterND',
  infer(node, inputs) {
    const [data, indices, updates] = [0, 1, 2].map((i) => need(node, inputs, i)) as [
      ValueInfo,
      ValueInfo,
      ValueInfo,
    ];
    checkUpdates(node, updates, ndSlices(node, data.shape, indices.shape, 0).shape);
    reduction(node);
    return [{ shape: data.shape, dtype: data.dtype }];
  },
  run(node, inputs) {
    const [data, indices, updates] = [0, 1, 2].map((i) => need(node, inputs, i)) as [Tensor, Tensor, Tensor];
    const { slice, shape } = ndSlices(node, data.shape, indices.shape, 0);
    checkUpdates(node, updates, shape);
    return [scatter(node, data, updates, ndOffsets(node, data.shape, indices, 0), slice)];
  },
};
