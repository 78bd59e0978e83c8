import { RuntimeError } from './errors.js';
import { type AttributeValue, attrNumber, attrNumbers, attrString, type GraphNode } from './graph.js';

// Shape rules shared by the CPU and WebGPU executors (the WebGPU one applies them to views).

export function normAxis(axis: number, rank: number, node: GraphNode): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw new RuntimeError(
      'invalid-input',
      `axis ${axis} is out of range for a rank-${rank} tensor in node '${node.name}'.`,
    );
  return a;
}

export function flattenShape(shape: readonly number[], node: GraphNode): number[] {
  const axis = normAxis(attrNumber(node, 'axis', 1), shape.length + 1, node);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  return [outer, shape.slice(axis).reduce((a, b) => a * b, 1)];
}

export function reshapeShape(shape: readonly number[], target: readonly number[], node: GraphNode): number[] {
  const size = shape.reduce((a, b) => a * b, 1);
  const allowZero = attrNumber(node, 'allowzero', 0) === 1;
  const out = target.map((d, i) => (d === 0 && !allowZero ? (shape[i] ?? 0) : d));
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const unknown = out.filter((d) => d === -1).length;
  if (unknown > 1 || (unknown === 1 && (known === 0 || size % known !== 0)))
    throw new RuntimeError(
      'invalid-input',
      `cannot reshape [${shape.join(', ')}] to [${target.join(', ')}] in node '${node.name}'.`,
    );
  const resolved = out.map((d) => (d === -1 ? size / known : d));
  if (resolved.reduce((a, b) => a * b, 1) !== size)
    throw new RuntimeError(
      'invalid-input',
      `cannot reshape [${shape.join(', ')}] to [${target.join(', ')}] in node '${node.name}'.`,
    );
  return resolved;
}

/** Axes from the attribute (older opsets) or the second input (newer ones). */
export function axesOf(node: GraphNode, fromInput: number[] | undefined): number[] | undefined {
  return fromInput ?? attrNumbers(node, 'axes');
}

export function squeezeShape(
  shape: readonly number[],
  axes: number[] | undefined,
  node: GraphNode,
): number[] {
  const drop = new Set(
    (axes ?? shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, shape.length, node)),
  );
  return shape.filter((_, i) => !drop.has(i));
}

export function unsqueezeShape(shape: readonly number[], axes: number[], node: GraphNode): number[] {
  const rank = shape.length + axes.length;
  const at = new Set(axes.map((a) => normAxis(a, rank, node)));
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : shape[j++]!);
  return out;
}

export interface Window2d {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly pads: [number, number, number, number];
}

/**
 * A 1-D conv or pool as the 2-D one it equals: a unit height in front of every spatial attribute, so
 * [N, C, L] runs as [N, C, 1, L]. 2-D nodes come back unchanged.
 */
export function as2d(node: GraphNode, rank: number): GraphNode {
  if (rank !== 3) return node;
  const lift = (key: string, unit: number) => {
    const v = attrNumbers(node, key);
    return v ? { [key]: v.length === 1 ? [unit, v[0]!] : v } : {};
  };
  const pads = attrNumbers(node, 'pads');
  return {
    ...node,
    attrs: {
      ...node.attrs,
      ...lift('kernel_shape', 1),
      ...lift('strides', 1),
      ...lift('dilations', 1),
      ...lift('output_padding', 0),
      ...(pads?.length === 2 ? { pads: [0, pads[0]!, 0, pads[1]!] } : {}),
    },
  };
}

/** A 3-D shape with a unit height inserted (the 2-D view of a 1-D conv or pool); others unchanged. */
export function shape2d(shape: readonly number[]): readonly number[] {
  return shape.length === 3 ? [shape[0]!, shape[1]!, 1, shape[2]!] : shape;
}

/** Kernel, stride, dilation and [top, left, bottom, right] pads of a 2-D conv or pool, auto_pad resolved. */
export function window2d(node: GraphNode, input: readonly number[], kernel: readonly number[]): Window2d {
  if (input.length !== 4 || kernel.length !== 2)
    throw new RuntimeError(
      'unsupported-op',
      `node '${node.name}' (${node.op}) is not 2-D; only NCHW inputs with 2-D kernels are supported.`,
    );
  const stride = (attrNumbers(node, 'strides') ?? [1, 1]) as [number, number];
  const dilation = (attrNumbers(node, 'dilations') ?? [1, 1]) as [number, number];
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  let pads = (attrNumbers(node, 'pads') ?? [0, 0, 0, 0]) as number[];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = [0, 0, 0, 0];
    for (let d = 0; d < 2; d++) {
      const size = input[2 + d]!;
      const out = Math.ceil(size / stride[d]!);
      const total = Math.max(0, (out - 1) * stride[d]! + dilation[d]! * (kernel[d]! - 1) + 1 - size);
      const small = Math.floor(total / 2);
      pads[d] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[d + 2] = total - pads[d]!;
    }
  } else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
  // ONNX orders pads [y_begin, x_begin, y_end, x_end], which is [top, left, bottom, right]
  return {
    kernel: [kernel[0]!, kernel[1]!],
    stride,
    dilation,
    pads: pads as [number, number, number, number],
  };
}

export function isTensorAttr(v: AttributeValue | undefined): v is Extract<AttributeValue, { dtype: string }> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
