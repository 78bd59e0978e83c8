import {
  type AttributeValue,
  float32,
  type Graph,
  type GraphNode,
  int64,
  type Tensor,
} from '@zeroskip/runtime';
import { tf } from './engine.js';
import { TrainError } from './errors.js';
import {
  BatchNorm,
  Conv2d,
  Flatten,
  HTanh,
  type InputQuantizer,
  isWeightLayer,
  type Layer,
  MaxPool,
  ReLU,
  type WeightLayerType,
} from './layers.js';
import { IMAGE_SIZE } from './mnist.js';
import type { Model } from './models.js';
import { binarize, dorefaBinaryScale, dorefaGridWeights, ternaryCodes, xnorAlpha } from './quantizers.js';

/**
 * Where the exported value stands: NCHW [N, C, H, W], or [N, F]. `flattened` marks an NCHW value
 * that TF.js has already flattened in (h, w, c) order: a dense layer reads it as a whole-input kernel.
 */
type Value =
  | {
      readonly name: string;
      readonly rank: 4;
      readonly c: number;
      readonly h: number;
      readonly w: number;
      readonly flattened: boolean;
    }
  | { readonly name: string; readonly rank: 2; readonly f: number };

/** Nodes and constants of the graph under construction. */
class Emitter {
  readonly nodes: GraphNode[] = [];
  readonly initializers = new Map<string, Tensor>();
  private counter = 0;

  constant(prefix: string, t: Tensor): string {
    const name = `${prefix}_${this.counter++}`;
    this.initializers.set(name, t);
    return name;
  }

  floats(prefix: string, shape: number[], data: ArrayLike<number>): string {
    return this.constant(prefix, float32(shape, Float32Array.from(data)));
  }

  node(op: string, inputs: string[], attrs: Record<string, AttributeValue> = {}): string {
    const out = `${op.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ op, name: `/${op}_${this.counter++}`, inputs, outputs: [out], attrs });
    return out;
  }
}

/** The values of a tensor computed by `f`, without keeping anything on the device. */
function read(f: () => tf.Tensor): Float32Array {
  const t = tf.tidy(f);
  const data = Float32Array.from(t.dataSync() as Float32Array);
  t.dispose();
  return data;
}

/** A kernel [kh, kw, in, out] (or a dense kernel reshaped to [h, w, c, out]) in ONNX's OIHW layout. */
function oihw(kernel: tf.Tensor, shape: [number, number, number, number]): Float32Array {
  return read(() => tf.transpose(tf.reshape(kernel, shape), [3, 2, 0, 1]));
}

interface QuantizedWeights {
  /** The normalized weights QuantConv holds, in TF.js layout. */
  readonly codes: (w: tf.Tensor) => tf.Tensor;
  readonly weights: 'binary' | 'ternary' | 'bits';
  readonly weightBits?: number;
  /** The real value of one code unit, per output filter or per layer. */
  readonly scale: (w: tf.Tensor) => tf.Tensor;
}

/** A weight layer's quantized weights as QuantConv codes and their scale. */
function quantizedWeights(layer: WeightLayerType): QuantizedWeights {
  const q = layer.weights;
  switch (q.type) {
    case 'binary':
      return {
        codes: binarize,
        weights: 'binary',
        scale: q.scale === 'filter' ? xnorAlpha : () => tf.scalar(1),
      };
    case 'ternary':
      return {
        codes: (w) => ternaryCodes(w, q.threshold).codes,
        weights: 'ternary',
        scale: (w) => ternaryCodes(w, q.threshold).alpha,
      };
    case 'dorefa':
      return q.bits === 1
        ? { codes: binarize, weights: 'binary', scale: dorefaBinaryScale }
        : {
            codes: (w) => dorefaGridWeights(w, q.bits),
            weights: 'bits',
            weightBits: q.bits,
            scale: () => tf.scalar(1 / (2 ** q.bits - 1)),
          };
    case 'float':
      throw new TrainError(
        'unsupported-export',
        `a ${layer.kind} layer with float weights on a quantized input has no QuantConv form; quantize its weights too.`,
      );
  }
}

/** Activation attributes of QuantConv and the levels La its codes are scaled by. */
function activationAttrs(q: Exclude<InputQuantizer, { type: 'none' }>): {
  attrs: Record<string, AttributeValue>;
  levels: number;
} {
  return q.type === 'sign'
    ? { attrs: { activations: 'sign' }, levels: 1 }
    : { attrs: { activations: 'bits', activation_bits: q.bits }, levels: 2 ** q.bits - 1 };
}

function biasOf(layer: WeightLayerType, out: number): Float32Array {
  return layer.bias ? read(() => tf.clone(layer.bias!)) : new Float32Array(out);
}

function expect4d(v: Value, layer: Layer): Extract<Value, { rank: 4 }> {
  if (v.rank !== 4 || v.flattened)
    throw new TrainError(
      'unsupported-export',
      `a ${layer.kind} layer needs an unflattened NHWC input to export.`,
    );
  return v;
}

class Exporter {
  readonly e = new Emitter();

  /** A conv or dense layer as Conv/Gemm (float input) or QuantConv (quantized input). */
  weightLayer(layer: WeightLayerType, v: Value): Value {
    if (layer instanceof Conv2d) {
      const x = expect4d(v, layer);
      const k = layer.kernelSize;
      const pad = layer.padding === 'same' ? (k - 1) / 2 : 0;
      const geometry = {
        kernel_shape: [k, k],
        strides: [1, 1],
        pads: [pad, pad, pad, pad],
        dilations: [1, 1],
      };
      const shape: [number, number, number, number] = [k, k, layer.inChannels, layer.filters];
      const name = this.linear(layer, x.name, shape, geometry);
      const size = (s: number) => s + 2 * pad - k + 1;
      return { name, rank: 4, c: layer.filters, h: size(x.h), w: size(x.w), flattened: false };
    }
    const out = layer.units;
    if (v.rank === 4) {
      if (!v.flattened)
        throw new TrainError('unsupported-export', 'a dense layer needs a Flatten before it.');
      const shape: [number, number, number, number] = [v.h, v.w, v.c, out];
      if (layer.input.type === 'none')
        return this.gemm(layer, this.e.node('Flatten', [v.name], { axis: 1 }), shape);
      const geometry = { kernel_shape: [v.h, v.w], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] };
      return {
        name: this.linear(layer, v.name, shape, geometry),
        rank: 4,
        c: out,
        h: 1,
        w: 1,
        flattened: true,
      };
    }
    const shape: [number, number, number, number] = [1, 1, v.f, out];
    if (layer.input.type === 'none') return this.gemm(layer, v.name, shape);
    const x = this.e.node('Reshape', [v.name, this.e.constant('shape', int64([4], [0, v.f, 1, 1]))]);
    const geometry = { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] };
    return { name: this.linear(layer, x, shape, geometry), rank: 4, c: out, h: 1, w: 1, flattened: true };
  }

  private gemm(layer: WeightLayerType, x: string, shape: [number, number, number, number]): Value {
    const out = shape[3];
    const w = this.e.floats(
      'gemm.weight',
      [out, shape[0] * shape[1] * shape[2]],
      oihw(layer.effectiveKernel(), shape),
    );
    const b = this.e.floats('gemm.bias', [out], biasOf(layer, out));
    return { name: this.e.node('Gemm', [x, w, b], { transB: 1, alpha: 1, beta: 1 }), rank: 2, f: out };
  }

  /** Conv on float inputs, or QuantConv (plus XNOR's K map) on quantized ones. */
  private linear(
    layer: WeightLayerType,
    x: string,
    shape: [number, number, number, number],
    geometry: Record<string, number[]>,
  ): string {
    const out = shape[3];
    const oShape = [out, shape[2], shape[0], shape[1]];
    const bias = biasOf(layer, out);
    const q = layer.input;
    if (q.type === 'none') {
      const w = this.e.floats('conv.weight', oShape, oihw(layer.effectiveKernel(), shape));
      return this.e.node('Conv', [x, w, this.e.floats('conv.bias', [out], bias)], { ...geometry, group: 1 });
    }
    const qw = quantizedWeights(layer);
    const act = activationAttrs(q);
    const codes = this.e.floats('qconv.weight', oShape, oihw(qw.codes(layer.kernel), shape));
    const scale = read(() => tf.broadcastTo(tf.reshape(qw.scale(layer.kernel), [-1]), [out]));
    const s = this.e.floats(
      'qconv.scale',
      [out],
      scale.map((v) => v / act.levels),
    );
    const scaleMap = layer instanceof Conv2d && layer.inputScale;
    const b = this.e.floats('qconv.bias', [out], scaleMap ? new Float32Array(out) : bias);
    const y = this.e.node('QuantConv', [x, codes, s, b], {
      ...geometry,
      group: 1,
      ...act.attrs,
      weights: qw.weights,
      ...(qw.weightBits !== undefined ? { weight_bits: qw.weightBits } : {}),
      output: 'float',
    });
    if (!scaleMap) return y;
    // XNOR-Net's K: mean |x| over channels, box-filtered by the kernel, multiplies the output; the bias follows.
    const k = shape[0];
    const mean = this.e.node('ReduceMean', [this.e.node('Abs', [x])], { axes: [1], keepdims: 1 });
    const box = this.e.floats('xnor.box', [1, 1, k, k], new Float32Array(k * k).fill(1 / (k * k)));
    const kmap = this.e.node('Conv', [mean, box], { ...geometry, group: 1 });
    return this.e.node('Add', [
      this.e.node('Mul', [y, kmap]),
      this.e.floats('xnor.bias', [1, out, 1, 1], bias),
    ]);
  }

  batchNorm(layer: BatchNorm, v: Value): Value {
    if (v.rank === 4 && v.flattened && v.h * v.w > 1)
      throw new TrainError(
        'unsupported-export',
        'a batch norm right after Flatten has no per-channel NCHW form.',
      );
    const c = v.rank === 4 ? v.c : v.f;
    const params = [layer.gamma, layer.beta, layer.movingMean, layer.movingVariance].map((p, i) =>
      this.e.floats(
        ['bn.scale', 'bn.bias', 'bn.mean', 'bn.var'][i]!,
        [c],
        read(() => tf.clone(p)),
      ),
    );
    return { ...v, name: this.e.node('BatchNormalization', [v.name, ...params], { epsilon: layer.epsilon }) };
  }

  layer(layer: Layer, v: Value, next: Layer | undefined): Value {
    if (isWeightLayer(layer)) return this.weightLayer(layer, v);
    if (layer instanceof BatchNorm) return this.batchNorm(layer, v);
    if (layer instanceof ReLU) return { ...v, name: this.e.node('Relu', [v.name]) };
    if (layer instanceof HTanh) {
      // sign(htanh(x)) = sign(x): before a sign quantizer the clip only shapes the gradient.
      if (next && isWeightLayer(next) && next.input.type === 'sign') return v;
      const lo = this.e.floats('clip.min', [], [-1]);
      const hi = this.e.floats('clip.max', [], [1]);
      return { ...v, name: this.e.node('Clip', [v.name, lo, hi]) };
    }
    if (layer instanceof MaxPool) {
      const x = expect4d(v, layer);
      const s = layer.size;
      const name = this.e.node('MaxPool', [x.name], {
        kernel_shape: [s, s],
        strides: [s, s],
        pads: [0, 0, 0, 0],
      });
      return { ...x, name, h: Math.floor(x.h / s), w: Math.floor(x.w / s) };
    }
    if (layer instanceof Flatten) return v.rank === 4 ? { ...v, flattened: true } : v;
    throw new TrainError('unsupported-export', `layer kind '${layer.kind}' has no export.`);
  }
}

/** Graph input and output names of exported models. */
export const GRAPH_INPUT = 'pixels';
export const GRAPH_OUTPUT = 'scores';

/**
 * The model in inference mode as a Zeroskip runtime graph, NCHW: input 'pixels' [N, 1, 28, 28],
 * output 'scores' [N, 10]. Float-input layers become Conv/Gemm with their effective weights;
 * quantized-input layers become QuantConv (output "float", S = weight scale / activation levels).
 */
export function toGraph(model: Model): Graph {
  const x = new Exporter();
  const flat = model.inputShape.length === 1;
  let v: Value = { name: GRAPH_INPUT, rank: 4, c: 1, h: IMAGE_SIZE, w: IMAGE_SIZE, flattened: flat };
  for (const [i, layer] of model.layers.entries()) v = x.layer(layer, v, model.layers[i + 1]);
  const e = x.e;
  if (v.rank === 4) e.node('Flatten', [v.name], { axis: 1 });
  else if (e.nodes.at(-1)?.outputs[0] !== v.name) e.node('Identity', [v.name]);
  e.nodes.at(-1)!.outputs[0] = GRAPH_OUTPUT;
  return {
    nodes: e.nodes,
    initializers: e.initializers,
    inputs: [{ name: GRAPH_INPUT, shape: [-1, 1, IMAGE_SIZE, IMAGE_SIZE], dtype: 'float32' }],
    outputs: [GRAPH_OUTPUT],
    opset: 17,
  };
}
