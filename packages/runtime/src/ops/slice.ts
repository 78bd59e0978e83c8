import { encodeAxisGather, type GpuTensor, strides } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { sizeOf, type Tensor, tensor } from '../tensor.js';
import type { EncodeContext, OpDef, ValueInfo } from './types.js';
import { known, need } from './util.js';

/** A strided window per axis: starts, steps and sizes. */
export interface Window {
  readonly starts: number[];
  readonly steps: number[];
  readonly sizes: number[];
}

/** Slice's window (inputs starts, ends, axes, steps; import rewrites Slice-1's attributes into inputs). */
function sliceWindow(
  node: GraphNode,
  shape: readonly number[],
  inputs: readonly (Tensor | ValueInfo | undefined)[],
): Window {
  const rank = shape.length;
  const startsIn = known(node, inputs, 1, 'starts');
  const endsIn = known(node, inputs, 2, 'ends');
  const axes = (inputs[3] ? known(node, inputs, 3, 'axes') : startsIn.map((_, i) => i)).map((a) =>
    normAxis(a, rank, node),
  );
  const stepsIn = inputs[4] ? known(node, inputs, 4, 'steps') : axes.map(() => 1);
  const starts = shape.map(() => 0);
  const steps = shape.map(() => 1);
  const sizes = [...shape];
  axes.forEach((a, i) => {
    const dim = shape[a]!;
    const step = stepsIn[i]!;
    if (step === 0)
      throw new RuntimeError('invalid-input', `Slice '${node.name}' has step 0; steps must be non-zero.`);
    const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    const s = step > 0 ? clampIdx(startsIn[i]!, 0, dim) : clampIdx(startsIn[i]!, -1, dim - 1);
    const e = step > 0 ? clampIdx(endsIn[i]!, 0, dim) : clampIdx(endsIn[i]!, -1, dim - 1);
    starts[a] = s;
    steps[a] = step;
    sizes[a] = Math.max(0, Math.ceil((e - s) / step));
  });
  return { starts, steps, sizes };
}

/** Copies a strided window of `x`. */
export function copyWindow(x: Tensor, w: Window): Tensor {
  const st = strides(x.shape);
  const outStrides = strides(w.sizes);
  const data = new (x.data.constructor as Float32ArrayConstructor)(sizeOf(w.sizes));
  for (let e = 0; e < data.length; e++) {
    let src = 0;
    for (let d = 0; d < w.sizes.length; d++)
      src += (w.starts[d]! + (Math.floor(e / outStrides[d]!) % w.sizes[d]!) * w.steps[d]!) * st[d]!;
    data[e] = x.data[src]!;
  }
  return tensor(x.dtype, w.sizes, data);
}

/** Records a window of `x` on the GPU as one strided gather per axis it narrows. */
export function encodeWindow(ctx: EncodeContext, x: GpuTensor, w: Window): GpuTensor {
  let cur = x;
  for (let a = 0; a < x.shape.length; a++) {
    if (w.starts[a] === 0 && w.steps[a] === 1 && w.sizes[a] === cur.shape[a]) continue;
    const next = ctx.empty(cur.shape.map((d, i) => (i === a ? w.sizes[a]! : d)));
    encodeAxisGather(ctx.r, cur, next, a, { start: w.starts[a]!, step: w.steps[a]!, count: w.sizes[a]! });
    if (cur !== x) ctx.gpu.release(cur);
    cur = next;
  }
  return cur === x ? { ...x } : cur;
}

const constantParams = (inputs: readonly (ValueInfo | undefined)[]) =>
  inputs.slice(1).every((v) => !v || v.value);

export const slice: OpDef = {
  op: 'Slice',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    return [{ shape: sliceWindow(node, x.shape, inputs).sizes, dtype: x.dtype }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    return [copyWindow(x, sliceWindow(node, x.shape, inputs))];
  },
  gpu: {
    // the gather kernel walks forward: negative steps run on the CPU
    plan(node, inputs) {
      const x = inputs[0];
      if (x?.dtype !== 'float32' || !constantParams(inputs)) return undefined;
      return sliceWindow(node, x.shape, inputs).steps.every((s) => s > 0) ? { kernel: 'slice' } : undefined;
    },
    encode(node, ctx) {
      const x = ctx.input(0);
      return [encodeWindow(ctx, x, sliceWindow(node, x.shape, ctx.inputs))];
    },
  },
};
