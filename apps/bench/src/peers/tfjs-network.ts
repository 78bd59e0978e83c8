import {
  attrNumber,
  attrNumbers,
  type Graph,
  type GraphNode,
  inferShapes,
  type Tensor,
} from '@zeroskip/runtime';
import { groupedHwio, groupFilters, type TfjsOnDevice } from './tfjs.js';

type Tf = TfjsOnDevice['tf'];
type TfTensor = import('@tensorflow/tfjs-core').Tensor;
type Tensor2D = import('@tensorflow/tfjs-core').Tensor2D;
type Tensor4D = import('@tensorflow/tfjs-core').Tensor4D;
type Padding = import('@tensorflow/tfjs-core').backend_util.ExplicitPadding;
type FusedActivation = import('@tensorflow/tfjs-core').fused.Activation;

/** A value while the network runs: images (4-D) may be held channels-last, as TF.js convolves them. */
interface Value {
  readonly t: TfTensor;
  readonly nhwc: boolean;
}

/** One translated node: its output from the values computed before it. */
type Get = (name: string) => Value;
type Step = (get: Get) => Value;

/** What translating a node may read and make. */
interface Context {
  readonly tf: Tf;
  readonly opset: number;
  /** A value's static shape (ONNX layout). */
  shape(name: string): readonly number[];
  /** A float32 initializer, or undefined where the value is computed while the network runs. */
  constant(name: string): Float32Array | undefined;
  /** An operand: the value computed while running, or the initializer uploaded once. */
  input(name: string): Step;
  /** Keeps a tensor made while translating (weights) until the network is disposed. */
  own<T extends TfTensor>(t: T): T;
}

type Translate = (n: GraphNode, ctx: Context) => Step;

/** Why a node cannot run in TF.js exactly as ONNX defines it. */
class Untranslatable extends Error {}

function refuse(why: string): never {
  throw new Untranslatable(why);
}

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];

/** `v` channels-last; below rank 4 (an operand broadcast against an image) with leading 1s first. */
function nhwc(tf: Tf, v: Value): TfTensor {
  if (v.nhwc) return v.t;
  const t = v.t.rank < 4 ? tf.reshape(v.t, [...Array(4 - v.t.rank).fill(1), ...v.t.shape]) : v.t;
  return tf.transpose(t, NCHW_TO_NHWC);
}

/** `v` in ONNX's layout. */
const plain = (tf: Tf, v: Value): TfTensor => (v.nhwc ? tf.transpose(v.t, NHWC_TO_NCHW) : v.t);

/** An op's result as a value, in NHWC or in ONNX's layout. */
const channelsLast = (t: TfTensor): Value => ({ t, nhwc: true });
const onnxLayout = (t: TfTensor): Value => ({ t, nhwc: false });

function needImage(ctx: Context, name: string): void {
  const rank = ctx.shape(name).length;
  if (rank !== 4) refuse(`only images [N, C, H, W] are translated, got rank ${rank}`);
}

function needConstant(ctx: Context, name: string, what: string): Float32Array {
  return ctx.constant(name) ?? refuse(`${what} must be a float32 initializer`);
}

/** ONNX pads [top, left, bottom, right] as TF.js's NHWC explicit padding. */
function padding(n: GraphNode): Padding {
  const autoPad = n.attrs.auto_pad ?? 'NOTSET';
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') refuse(`auto_pad ${autoPad} is not translated`);
  const [t = 0, l = 0, b = 0, r = 0] = autoPad === 'VALID' ? [] : (attrNumbers(n, 'pads') ?? []);
  return [
    [0, 0],
    [t, b],
    [l, r],
    [0, 0],
  ];
}

/** Zeroskip's fused activations as TF.js ops. */
const ACTIVATIONS: Readonly<Record<string, (tf: Tf, t: TfTensor) => TfTensor>> = {
  none: (_tf, t) => t,
  relu: (tf, t) => tf.relu(t),
  relu6: (tf, t) => tf.relu6(t),
  sigmoid: (tf, t) => tf.sigmoid(t),
  htanh: (tf, t) => tf.clipByValue(t, -1, 1),
};

/**
 * The node's fused activation in TF.js's fused kernel where it can be (TF.js fuses no hard tanh, nor
 * anything after a residual add), else as an op after.
 */
function epilogue(
  tf: Tf,
  n: GraphNode,
  fusable: boolean,
): { activation: FusedActivation; after: (t: TfTensor) => TfTensor } {
  const act = String(n.attrs.activation ?? 'none');
  const op = ACTIVATIONS[act] ?? refuse(`its fused activation ${act} is not translated`);
  if (fusable && (act === 'relu' || act === 'relu6' || act === 'sigmoid'))
    return { activation: act, after: (t) => t };
  return { activation: 'linear', after: (t) => op(tf, t) };
}

/**
 * TF.js's fused conv2d (bias and activation in the kernel) on NHWC and HWIO; depthwise where each group
 * has one input channel; otherwise one conv2d per group between a split and a concat. A fourth input is
 * the residual that Zeroskip fused from the Add after it: act(conv(x) + b + r).
 */
const conv: Translate = (n, ctx) => {
  const { tf } = ctx;
  needImage(ctx, n.inputs[0]!);
  if (n.inputs.length > 4) refuse('inputs beyond X, W, B and the residual are not translated');
  const shape = ctx.shape(n.inputs[1]!);
  if (shape.length !== 4) refuse(`only 2-D convolutions are translated, got weights of rank ${shape.length}`);
  const [o, cg, kh, kw] = shape as [number, number, number, number];
  const weights = needConstant(ctx, n.inputs[1]!, 'the weights');
  const bias = n.inputs[2] ? needConstant(ctx, n.inputs[2], 'the bias') : new Float32Array(o);
  const strides = (attrNumbers(n, 'strides') ?? [1, 1]) as [number, number];
  const dilations = (attrNumbers(n, 'dilations') ?? [1, 1]) as [number, number];
  if (strides.some((s) => s !== 1) && dilations.some((d) => d !== 1))
    refuse('TF.js convolves with strides or with dilations, not both');
  const groups = attrNumber(n, 'group', 1);
  const og = o / groups;
  const residual = n.inputs[3] ? ctx.input(n.inputs[3]) : undefined;
  const { activation, after } = epilogue(tf, n, !residual);
  const finish = (get: Get, y: TfTensor) =>
    channelsLast(after(residual ? tf.add(y, nhwc(tf, residual(get))) : y));
  const common = { strides, pad: padding(n), dilations, activation };
  const x = ctx.input(n.inputs[0]!);
  if (groups === 1 || cg === 1) {
    const hwio = groupedHwio(weights, [o, cg, kh, kw], groups);
    const filter = ctx.own(tf.tensor4d(hwio, [kh, kw, groups * cg, og]));
    const b = ctx.own(tf.tensor1d(bias));
    // the declaration of fused depthwiseConv2d leaves out the explicit padding its implementation takes
    const run = groups === 1 ? tf.fused.conv2d : (tf.fused.depthwiseConv2d as typeof tf.fused.conv2d);
    return (get) => finish(get, run({ ...common, x: nhwc(tf, x(get)) as Tensor4D, filter, bias: b }));
  }
  const filters = groupFilters(tf, weights, [o, cg, kh, kw], groups).map((f) => ctx.own(f));
  const biases = filters.map((_, g) => ctx.own(tf.tensor1d(bias.subarray(g * og, (g + 1) * og))));
  return (get) => {
    const xs = tf.split(nhwc(tf, x(get)), groups, 3);
    const ys = xs.map((xg, g) =>
      tf.fused.conv2d({ ...common, x: xg as Tensor4D, filter: filters[g]!, bias: biases[g]! }),
    );
    return finish(get, tf.concat(ys, 3));
  };
};

/**
 * MaxPool and AveragePool. TF.js skips what lies outside the input as ONNX does (the average over the
 * input only, count_include_pad 0), but in ceil mode keeps a last window that starts in the end padding,
 * which ONNX drops: where the output sizes differ, the node is refused.
 */
const pool =
  (kind: 'max' | 'avg'): Translate =>
  (n, ctx) => {
    const { tf } = ctx;
    needImage(ctx, n.inputs[0]!);
    const kernel = attrNumbers(n, 'kernel_shape') ?? [];
    if (kernel.length !== 2) refuse(`only 2-D windows are translated, got kernel_shape [${kernel}]`);
    if ((attrNumbers(n, 'dilations') ?? [1, 1]).some((d) => d !== 1)) refuse('TF.js pools without dilations');
    const strides = (attrNumbers(n, 'strides') ?? [1, 1]) as [number, number];
    const pad = padding(n);
    const ceil = attrNumber(n, 'ceil_mode', 0) === 1;
    const [, , h, w] = ctx.shape(n.inputs[0]!);
    const want = ctx.shape(n.outputs[0]!).slice(2);
    const got = [h!, w!].map((size, d) => {
      const span = (size + pad[d + 1]![0] + pad[d + 1]![1] - kernel[d]!) / strides[d]!;
      return (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
    });
    if (got.some((s, d) => s !== want[d]))
      refuse(`TF.js's ceil mode gives ${got.join('x')} windows where ONNX gives ${want.join('x')}`);
    const padded = pad.some(([b, e]) => b !== 0 || e !== 0);
    if (kind === 'avg' && attrNumber(n, 'count_include_pad', 0) === 1 && (padded || ceil))
      refuse('TF.js averages over the input only, not over count_include_pad’s padding');
    const x = ctx.input(n.inputs[0]!);
    const run = kind === 'max' ? tf.maxPool : tf.avgPool;
    const [kh, kw] = kernel as [number, number];
    return (get) =>
      channelsLast(run(nhwc(tf, x(get)) as Tensor4D, [kh, kw], strides, pad, ceil ? 'ceil' : 'floor'));
  };

const globalPool =
  (kind: 'mean' | 'max'): Translate =>
  (n, ctx) => {
    const { tf } = ctx;
    needImage(ctx, n.inputs[0]!);
    const x = ctx.input(n.inputs[0]!);
    return (get) => channelsLast(tf[kind](nhwc(tf, x(get)), [1, 2], true));
  };

/**
 * ONNX sums squares over the channels c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉ and scales alpha by 1/size;
 * TF.js sums over c ± depthRadius with alpha as given, so only odd sizes translate.
 */
const lrn: Translate = (n, ctx) => {
  const { tf } = ctx;
  needImage(ctx, n.inputs[0]!);
  const size = attrNumber(n, 'size', 0);
  if (size % 2 !== 1) refuse(`TF.js's channel window is symmetric, which size ${size} is not`);
  const [bias, alpha, beta] = [
    attrNumber(n, 'bias', 1),
    attrNumber(n, 'alpha', 1e-4),
    attrNumber(n, 'beta', 0.75),
  ];
  const x = ctx.input(n.inputs[0]!);
  return (get) =>
    channelsLast(
      tf.localResponseNormalization(nhwc(tf, x(get)) as Tensor4D, (size - 1) / 2, bias, alpha / size, beta),
    );
};

/** Inference batch norm over the channel axis, which is the last in NHWC images and in [N, C]. */
const batchNorm: Translate = (n, ctx) => {
  const { tf } = ctx;
  const rank = ctx.shape(n.inputs[0]!).length;
  if (rank !== 4 && rank !== 2) refuse(`only [N, C, H, W] and [N, C] are translated, got rank ${rank}`);
  if (attrNumber(n, 'training_mode', 0) === 1) refuse('training mode is not translated');
  const [scale, offset, mean, variance] = ['scale', 'B', 'mean', 'var'].map((what, i) =>
    ctx.own(tf.tensor1d(needConstant(ctx, n.inputs[i + 1] ?? '', what))),
  );
  const epsilon = attrNumber(n, 'epsilon', 1e-5);
  const x = ctx.input(n.inputs[0]!);
  return (get) => {
    const v = x(get);
    const norm = (t: TfTensor) => tf.batchNorm(t, mean!, variance!, offset, scale, epsilon);
    return rank === 4 ? channelsLast(norm(nhwc(tf, v))) : onnxLayout(norm(plain(tf, v)));
  };
};

/** Y = alpha·A'·B' + beta·C as TF.js's fused matMul on B laid out [K, N] and scaled by alpha beforehand. */
const gemm: Translate = (n, ctx) => {
  const { tf } = ctx;
  if (ctx.shape(n.inputs[0]!).length !== 2) refuse('A must be a matrix');
  if (n.inputs.length > 3) refuse('inputs beyond A, B and C are not translated');
  const b = needConstant(ctx, n.inputs[1]!, 'B');
  const [rows, cols] = ctx.shape(n.inputs[1]!) as [number, number];
  const transB = attrNumber(n, 'transB', 0) === 1;
  const [k, m] = transB ? [cols, rows] : [rows, cols];
  const alpha = attrNumber(n, 'alpha', 1);
  const kn = new Float32Array(k * m);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < m; j++) kn[i * m + j] = alpha * b[transB ? j * k + i : i * m + j]!;
  const weights = ctx.own(tf.tensor2d(kn, [k, m]));
  const beta = attrNumber(n, 'beta', 1);
  const c = n.inputs[2] ? needConstant(ctx, n.inputs[2], 'C') : undefined;
  const scaled = c?.map((v) => beta * v);
  const bias = scaled ? { bias: ctx.own(tf.tensor(scaled, [...ctx.shape(n.inputs[2]!)])) } : {};
  const { activation, after } = epilogue(tf, n, true);
  const transposeA = attrNumber(n, 'transA', 0) === 1;
  const a = ctx.input(n.inputs[0]!);
  return (get) => {
    const y = tf.fused.matMul({
      a: plain(tf, a(get)) as Tensor2D,
      b: weights,
      transposeA,
      activation,
      ...bias,
    });
    return onnxLayout(after(y));
  };
};

/** Concat of images along the NHWC axis that holds the ONNX axis; in ONNX's layout otherwise. */
const concat: Translate = (n, ctx) => {
  const { tf } = ctx;
  const rank = ctx.shape(n.outputs[0]!).length;
  const axis = (attrNumber(n, 'axis', 0) + rank) % rank;
  const xs = n.inputs.map((i) => ctx.input(i));
  const [layout, at] = rank === 4 ? [nhwc, NCHW_TO_NHWC.indexOf(axis)] : [plain, axis];
  return (get) => {
    const parts = xs.map((x) => layout(tf, x(get)));
    return { t: tf.concat(parts, at), nhwc: rank === 4 };
  };
};

/** Flatten, Reshape, Squeeze, Unsqueeze: ONNX's element order, so NHWC images go back to NCHW first. */
const view: Translate = (n, ctx) => {
  const { tf } = ctx;
  const shape = [...ctx.shape(n.outputs[0]!)];
  const x = ctx.input(n.inputs[0]!);
  return (get) => onnxLayout(tf.reshape(plain(tf, x(get)), shape));
};

const pass: Translate = (n, ctx) => ctx.input(n.inputs[0]!);

const unary =
  (op: 'relu' | 'sigmoid' | 'tanh'): Translate =>
  (n, ctx) => {
    const x = ctx.input(n.inputs[0]!);
    return (get) => {
      const v = x(get);
      return { t: ctx.tf[op](v.t), nhwc: v.nhwc };
    };
  };

/** Elementwise with numpy broadcasting: both operands channels-last where either is. */
const binary =
  (op: 'add' | 'sub' | 'mul' | 'div'): Translate =>
  (n, ctx) => {
    const { tf } = ctx;
    const [a, b] = [ctx.input(n.inputs[0]!), ctx.input(n.inputs[1]!)];
    return (get) => {
      const [va, vb] = [a(get), b(get)];
      return va.nhwc || vb.nhwc
        ? channelsLast(tf[op](nhwc(tf, va), nhwc(tf, vb)))
        : onnxLayout(tf[op](va.t, vb.t));
    };
  };

/** Clip with constant bounds; an absent one clamps nothing. */
const clip: Translate = (n, ctx) => {
  const { tf } = ctx;
  const [lo, hi] = [1, 2].map((i) =>
    n.inputs[i] ? needConstant(ctx, n.inputs[i], 'a bound')[0] : undefined,
  );
  const x = ctx.input(n.inputs[0]!);
  return (get) => {
    const v = x(get);
    const low = lo === undefined ? v.t : tf.maximum(v.t, lo);
    return { t: hi === undefined ? low : tf.minimum(low, hi), nhwc: v.nhwc };
  };
};

const softmax: Translate = (n, ctx) => {
  const rank = ctx.shape(n.inputs[0]!).length;
  const axis = (attrNumber(n, 'axis', ctx.opset >= 13 ? -1 : 1) + rank) % rank;
  if (axis !== rank - 1) refuse(`TF.js's softmax runs over the last axis only, not axis ${axis}`);
  const x = ctx.input(n.inputs[0]!);
  return (get) => onnxLayout(ctx.tf.softmax(plain(ctx.tf, x(get))));
};

const TRANSLATIONS: Readonly<Record<string, Translate>> = {
  Conv: conv,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: globalPool('mean'),
  GlobalMaxPool: globalPool('max'),
  LRN: lrn,
  BatchNormalization: batchNorm,
  Gemm: gemm,
  Concat: concat,
  Flatten: view,
  Reshape: view,
  Squeeze: view,
  Unsqueeze: view,
  Identity: pass,
  Dropout: pass,
  Relu: unary('relu'),
  Sigmoid: unary('sigmoid'),
  Tanh: unary('tanh'),
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Clip: clip,
  Softmax: softmax,
};

/** A Zeroskip graph as TF.js ops on TF.js's WebGPU backend, weights laid out once. */
export interface TfjsNetwork {
  /** One inference, host to host: `input` uploaded, the ops run, the first output read back in NCHW. */
  run(): Promise<Float32Array>;
  /** Frees the weights. */
  dispose(): void;
}

/** The ops of `graph` translated for `input`, or which node TF.js cannot run as ONNX defines it, and why. */
export function openTfjsNetwork(
  peer: TfjsOnDevice,
  graph: Graph,
  input: Tensor,
): TfjsNetwork | { reason: string } {
  const { tf } = peer;
  if (graph.inputs.length !== 1 || input.dtype !== 'float32')
    return { reason: 'TF.js runs networks of one float32 input here' };
  const source = graph.inputs[0]!.name;
  const shapes = inferShapes(graph, { [source]: input.shape });
  const owned: TfTensor[] = [];
  const constants = new Map<string, Step>();
  const ctx: Context = {
    tf,
    opset: graph.opset,
    shape: (name) => shapes.get(name)?.shape ?? refuse(`the shape of ${name} is not known`),
    constant(name) {
      const t = graph.initializers.get(name);
      return t?.dtype === 'float32' ? (t.data as Float32Array) : undefined;
    },
    input(name) {
      if (!graph.initializers.has(name)) return (get) => get(name);
      const known = constants.get(name);
      if (known) return known;
      const v = onnxLayout(ctx.own(tf.tensor(needConstant(ctx, name, name), [...ctx.shape(name)])));
      constants.set(name, () => v);
      return () => v;
    },
    own(t) {
      owned.push(t);
      return t;
    },
  };
  const steps: { output: string; step: Step }[] = [];
  const computed = new Set([source]);
  const dispose = () => {
    for (const t of owned) t.dispose();
  };
  for (const n of graph.nodes) {
    try {
      const translate = TRANSLATIONS[n.op] ?? refuse('this op has no translation');
      const unknown = n.inputs.find((i) => i !== '' && !computed.has(i) && !graph.initializers.has(i));
      if (unknown) refuse(`it reads ${unknown}, which no translated node computes`);
      steps.push({ output: n.outputs[0]!, step: translate(n, ctx) });
      computed.add(n.outputs[0]!);
    } catch (e) {
      dispose();
      if (e instanceof Untranslatable)
        return { reason: `TF.js cannot run ${n.op} node '${n.name}': ${e.message}` };
      throw e;
    }
  }
  const output = graph.outputs[0]!;
  if (!computed.has(output)) {
    dispose();
    return { reason: `TF.js computes no ${output}, the graph's output` };
  }
  const x = input.data as Float32Array;
  return {
    async run() {
      const y = tf.tidy(() => {
        const values = new Map([[source, onnxLayout(tf.tensor(x, [...input.shape]))]]);
        const get = (name: string) => values.get(name)!;
        for (const { output, step } of steps) values.set(output, step(get));
        return plain(tf, get(output));
      });
      try {
        return (await y.data()) as Float32Array;
      } finally {
        y.dispose();
      }
    },
    dispose,
  };
}
