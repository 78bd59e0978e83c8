import { broadcastShape, convGeometry, poolOutput } from '@zeroskip/gpu';
import { cpuOps, sliceWindow, splitSizes } from './cpu-ops.js';
import { RuntimeError } from './errors.js';
import { attrNumber, attrNumbers, type Graph, type GraphNode } from './graph.js';
import {
  axesOf,
  flattenShape,
  normAxis,
  reshapeShape,
  shapeSlice,
  squeezeShape,
  unsqueezeShape,
  window2d,
} from './shapes.js';
import { int64, numbers, type Tensor } from './tensor.js';

/** What is known of a value before running: its shape, and its contents when they are shape arithmetic. */
export interface ValueInfo {
  readonly shape: readonly number[];
  readonly dtype: Tensor['dtype'];
  /** Exact contents of constants and of small int64 values computed from shapes (Shape, Gather, Concat, …). */
  readonly value?: Tensor;
}

const SAME_SHAPE = new Set([
  'BatchNormalization',
  'Relu',
  'Clip',
  'LeakyRelu',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Softmax',
  'Dropout',
  'Identity',
]);

/**
 * Static shape inference: the shape (and, for shape arithmetic, the value) of every value of the graph
 * for the given input shapes (default: the graph's, with unknown dimensions as 1).
 */
export function inferShapes(
  g: Graph,
  inputShapes: Readonly<Record<string, readonly number[]>> = {},
): Map<string, ValueInfo> {
  const info = new Map<string, ValueInfo>();
  for (const [name, t] of g.initializers) info.set(name, { shape: t.shape, dtype: t.dtype, value: t });
  for (const i of g.inputs)
    info.set(i.name, {
      shape: inputShapes[i.name] ?? i.shape.map((d) => (d < 0 ? 1 : d)),
      dtype: i.dtype === 'int64' ? 'int64' : 'float32',
    });
  const ops = cpuOps(g.opset);
  for (const n of g.nodes) {
    const ins = n.inputs.map((v) => (v === '' ? undefined : info.get(v)));
    const values = ins.map((v) => v?.value);
    // shape arithmetic: every input is a known int64 value (or Shape of anything): evaluate it exactly
    const small = ins.every((v) => !v || (v.value && v.dtype === 'int64')) && ins.some((v) => v);
    if (n.op === 'Shape' || n.op === 'Constant' || small) {
      const outs =
        n.op === 'Shape'
          ? [int64([shapeSlice(n, ins[0]!.shape).length], shapeSlice(n, ins[0]!.shape))]
          : ops[n.op]!(n, values);
      n.outputs.forEach((o, k) => {
        info.set(o, { shape: outs[k]!.shape, dtype: outs[k]!.dtype, value: outs[k]! });
      });
      continue;
    }
    const shapes = outputShapes(
      n,
      ins.map((v) => v?.shape),
      values,
    );
    n.outputs.forEach((o, k) => {
      info.set(o, { shape: shapes[k]!, dtype: n.op === 'Shape' ? 'int64' : (ins[0]?.dtype ?? 'float32') });
    });
  }
  return info;
}

function outputShapes(
  n: GraphNode,
  shapes: (readonly number[] | undefined)[],
  values: (Tensor | undefined)[],
): (readonly number[])[] {
  const x = shapes[0];
  if (!x)
    throw new RuntimeError('invalid-model', `node '${n.name}' (${n.op}) has no input shape to infer from.`);
  const need = (i: number, what: string) => {
    const v = values[i];
    if (!v)
      throw new RuntimeError(
        'invalid-model',
        `node '${n.name}' (${n.op}) takes its ${what} from a value that is not known before running.`,
      );
    return numbers(v);
  };
  if (SAME_SHAPE.has(n.op)) return [x];
  switch (n.op) {
    case 'Conv': {
      const w = shapes[1]!;
      const win = window2d(n, x, attrNumbers(n, 'kernel_shape') ?? w.slice(2));
      const geo = convGeometry(x, w, {
        stride: win.stride,
        pads: win.pads,
        dilation: win.dilation,
        groups: attrNumber(n, 'group', 1),
      });
      return [[geo.n, geo.o, geo.ho, geo.wo]];
    }
    case 'Gemm': {
      const b = shapes[1]!;
      return [[attrNumber(n, 'transA', 0) ? x[1]! : x[0]!, attrNumber(n, 'transB', 0) ? b[0]! : b[1]!]];
    }
    case 'MatMul': {
      const b = shapes[1]!;
      const batch = broadcastShape(x.slice(0, -2), b.slice(0, -2));
      return [[...batch, ...(x.length > 1 ? [x.at(-2)!] : []), ...(b.length > 1 ? [b.at(-1)!] : [])]];
    }
    case 'MaxPool':
    case 'AveragePool': {
      const win = window2d(n, x, attrNumbers(n, 'kernel_shape') ?? []);
      const ceil = attrNumber(n, 'ceil_mode', 0) === 1;
      return [
        [
          x[0]!,
          x[1]!,
          poolOutput(x[2]!, win.kernel[0], win.stride[0], win.pads[0], win.pads[2], win.dilation[0], ceil),
          poolOutput(x[3]!, win.kernel[1], win.stride[1], win.pads[1], win.pads[3], win.dilation[1], ceil),
        ],
      ];
    }
    case 'GlobalAveragePool':
      return [[x[0]!, x[1]!, ...x.slice(2).map(() => 1)]];
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      return [broadcastShape(x, shapes[1]!)];
    case 'Concat': {
      const axis = normAxis(attrNumber(n, 'axis', 0), x.length, n);
      return [x.map((d, i) => (i === axis ? shapes.reduce((s, sh) => s + (sh?.[axis] ?? 0), 0) : d))];
    }
    case 'Flatten':
      return [flattenShape(x, n)];
    case 'Reshape':
      return [reshapeShape(x, need(1, 'target shape'), n)];
    case 'Transpose': {
      const perm = attrNumbers(n, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      return [perm.map((p) => x[p]!)];
    }
    case 'Split': {
      const { axis, sizes } = splitSizes(n, x, values);
      return sizes.map((s) => x.map((d, i) => (i === axis ? s : d)));
    }
    case 'Slice':
      return [sliceWindow(n, x, values).sizes];
    case 'Gather': {
      const axis = normAxis(attrNumber(n, 'axis', 0), x.length, n);
      return [[...x.slice(0, axis), ...shapes[1]!, ...x.slice(axis + 1)]];
    }
    case 'Unsqueeze':
      return [unsqueezeShape(x, axesOf(n, values[1] ? numbers(values[1]) : undefined) ?? need(1, 'axes'), n)];
    case 'Squeeze':
      return [squeezeShape(x, axesOf(n, values[1] ? numbers(values[1]) : undefined), n)];
    case 'ReduceMean': {
      const axes = new Set(
        (axesOf(n, values[1] ? numbers(values[1]) : undefined) ?? x.map((_, i) => i)).map((a) =>
          normAxis(a, x.length, n),
        ),
      );
      return [
        attrNumber(n, 'keepdims', 1) === 1
          ? x.map((d, i) => (axes.has(i) ? 1 : d))
          : x.filter((_, i) => !axes.has(i)),
      ];
    }
    case 'Pad': {
      const pads = values[1] ? numbers(values[1]) : (attrNumbers(n, 'pads') ?? []);
      const axes = values[3] ? numbers(values[3]).map((a) => normAxis(a, x.length, n)) : x.map((_, i) => i);
      const out = [...x];
      axes.forEach((a, i) => {
        out[a] = x[a]! + pads[i]! + pads[i + axes.length]!;
      });
      return [out];
    }
    default:
      throw new RuntimeError('unsupported-op', `no shape rule for ${n.op} (node '${n.name}').`);
  }
}
