import { seededRandom } from '@zeroskip/quant';
import type { AttributeValue, Graph, GraphNode } from '../graph.js';
import { float32, int64, sizeOf, type Tensor } from '../tensor.js';

export interface BuildOptions {
  readonly seed?: number;
  /** Input height and width (default: the architecture's own). */
  readonly size?: number;
  /** Weights: seeded He-normal (default), or zeros for structure only (fast, for very large models). */
  readonly init?: 'random' | 'zeros';
}

/**
 * Builds NCHW CNN graphs op by op, tracking every value's shape. Weights are He-normal from a seeded
 * generator; batch-norm statistics are randomized too, so that folding mistakes show.
 */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly initializers = new Map<string, Tensor>();
  readonly shapes = new Map<string, number[]>();
  private readonly normal: () => number;
  private readonly uniform: () => number;
  private counter = 0;

  constructor(
    readonly input: number[],
    private readonly options: BuildOptions = {},
  ) {
    this.shapes.set('input', input);
    this.uniform = seededRandom(options.seed ?? 0);
    this.normal = () =>
      Math.sqrt(-2 * Math.log(this.uniform() || 1e-12)) * Math.cos(2 * Math.PI * this.uniform());
  }

  shape(v: string): number[] {
    return this.shapes.get(v)!;
  }

  private name(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  private weight(prefix: string, shape: number[], fill: () => number): string {
    const name = this.name(prefix);
    const data = new Float32Array(sizeOf(shape));
    if (this.options.init !== 'zeros') for (let i = 0; i < data.length; i++) data[i] = fill();
    this.initializers.set(name, float32(shape, data));
    return name;
  }

  private constant(prefix: string, t: Tensor): string {
    const name = this.name(prefix);
    this.initializers.set(name, t);
    return name;
  }

  node(op: string, inputs: string[], attrs: Record<string, AttributeValue>, outShapes: number[][]): string[] {
    const outputs = outShapes.map(() => this.name(op.toLowerCase()));
    for (const [i, o] of outputs.entries()) this.shapes.set(o, outShapes[i]!);
    this.nodes.push({ op, name: this.name(`/${op}`), inputs, outputs, attrs });
    return outputs;
  }

  conv(
    x: string,
    out: number,
    k: number,
    {
      stride = 1,
      pad = 0,
      groups = 1,
      bias = true,
    }: { stride?: number; pad?: number; groups?: number; bias?: boolean } = {},
  ): string {
    const [n, c, h, w] = this.shape(x) as [number, number, number, number];
    const fanIn = (c / groups) * k * k;
    const std = Math.sqrt(2 / fanIn);
    const wName = this.weight('conv.weight', [out, c / groups, k, k], () => std * this.normal());
    const inputs = [x, wName];
    if (bias) inputs.push(this.weight('conv.bias', [out], () => 0.01 * this.normal()));
    const ho = Math.floor((h + 2 * pad - k) / stride) + 1;
    const wo = Math.floor((w + 2 * pad - k) / stride) + 1;
    return this.node(
      'Conv',
      inputs,
      {
        kernel_shape: [k, k],
        strides: [stride, stride],
        pads: [pad, pad, pad, pad],
        dilations: [1, 1],
        group: groups,
      },
      [[n, out, ho, wo]],
    )[0]!;
  }

  /**
   * A binary convolution (QuantConv: sign activations, ±1 weights, float output S·acc + B), with a
   * following batch norm already folded into the seeded per-channel S and B.
   */
  binaryConv(
    x: string,
    out: number,
    k: number,
    { stride = 1, pad = 0 }: { stride?: number; pad?: number } = {},
  ): string {
    const [n, c, h, w] = this.shape(x) as [number, number, number, number];
    const wName = this.weight('qconv.weight', [out, c, k, k], () => (this.uniform() < 0.5 ? -1 : 1));
    // an XNOR-Net α (mean |W| of a He-normal filter) times a batch-norm scale
    const alpha = Math.sqrt(2 / (c * k * k)) * Math.sqrt(2 / Math.PI);
    const scale = this.weight('qconv.scale', [out], () => alpha * (1 + 0.1 * this.normal()));
    const bias = this.weight('qconv.bias', [out], () => 0.1 * this.normal());
    const ho = Math.floor((h + 2 * pad - k) / stride) + 1;
    const wo = Math.floor((w + 2 * pad - k) / stride) + 1;
    return this.node(
      'QuantConv',
      [x, wName, scale, bias],
      {
        kernel_shape: [k, k],
        strides: [stride, stride],
        pads: [pad, pad, pad, pad],
        dilations: [1, 1],
        activations: 'sign',
        weights: 'binary',
        output: 'float',
      },
      [[n, out, ho, wo]],
    )[0]!;
  }

  bn(x: string): string {
    const c = this.shape(x)[1]!;
    const params = [
      this.weight('bn.weight', [c], () => 1 + 0.1 * this.normal()),
      this.weight('bn.bias', [c], () => 0.1 * this.normal()),
      this.weight('bn.running_mean', [c], () => 0.1 * this.normal()),
      this.weight('bn.running_var', [c], () => 0.5 + this.uniform()),
    ];
    return this.node('BatchNormalization', [x, ...params], { epsilon: 1e-5 }, [this.shape(x)])[0]!;
  }

  relu(x: string): string {
    return this.node('Relu', [x], {}, [this.shape(x)])[0]!;
  }

  relu6(x: string): string {
    const lo = this.constant('clip.min', float32([], Float32Array.of(0)));
    const hi = this.constant('clip.max', float32([], Float32Array.of(6)));
    return this.node('Clip', [x, lo, hi], {}, [this.shape(x)])[0]!;
  }

  /** conv → batch norm → relu (or relu6, or none). */
  convBn(
    x: string,
    out: number,
    k: number,
    opts: { stride?: number; pad?: number; groups?: number; act?: 'relu' | 'relu6' | 'none' } = {},
  ): string {
    const y = this.bn(this.conv(x, out, k, { ...opts, bias: false }));
    return opts.act === 'none' ? y : opts.act === 'relu6' ? this.relu6(y) : this.relu(y);
  }

  pool(op: 'MaxPool' | 'AveragePool', x: string, k: number, stride: number, pad = 0, ceil = false): string {
    const [n, c, h, w] = this.shape(x) as [number, number, number, number];
    const out = (s: number) => {
      const span = s + 2 * pad - k;
      let o = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
      if (ceil && (o - 1) * stride >= s + pad) o--;
      return o;
    };
    return this.node(
      op,
      [x],
      {
        kernel_shape: [k, k],
        strides: [stride, stride],
        pads: [pad, pad, pad, pad],
        ceil_mode: ceil ? 1 : 0,
      },
      [[n, c, out(h), out(w)]],
    )[0]!;
  }

  gap(x: string): string {
    const [n, c] = this.shape(x) as [number, number];
    return this.node('GlobalAveragePool', [x], {}, [[n, c, 1, 1]])[0]!;
  }

  flatten(x: string): string {
    const s = this.shape(x);
    return this.node('Flatten', [x], { axis: 1 }, [[s[0]!, sizeOf(s.slice(1))]])[0]!;
  }

  /** Flatten as PyTorch exports x.view(x.size(0), -1): Shape → Gather → Unsqueeze → Concat → Reshape. */
  viewFlatten(x: string): string {
    const s = this.shape(x);
    const [shape] = this.node('Shape', [x], {}, [[s.length]]);
    const [batch] = this.node('Gather', [shape!, this.constant('idx', int64([], [0]))], { axis: 0 }, [[]]);
    const [b1] = this.node('Unsqueeze', [batch!, this.constant('axes', int64([1], [0]))], {}, [[1]]);
    const [target] = this.node('Concat', [b1!, this.constant('minus1', int64([1], [-1]))], { axis: 0 }, [
      [2],
    ]);
    return this.node('Reshape', [x, target!], {}, [[s[0]!, sizeOf(s.slice(1))]])[0]!;
  }

  fc(x: string, out: number, relu = false): string {
    const [n, k] = this.shape(x) as [number, number];
    const std = Math.sqrt(2 / k);
    const w = this.weight('fc.weight', [out, k], () => std * this.normal());
    const b = this.weight('fc.bias', [out], () => 0.01 * this.normal());
    const y = this.node('Gemm', [x, w, b], { transB: 1, alpha: 1, beta: 1 }, [[n, out]])[0]!;
    return relu ? this.relu(y) : y;
  }

  add(a: string, b: string): string {
    return this.node('Add', [a, b], {}, [this.shape(a)])[0]!;
  }

  concat(xs: string[]): string {
    const s = this.shape(xs[0]!);
    return this.node('Concat', xs, { axis: 1 }, [
      [s[0]!, xs.reduce((c, x) => c + this.shape(x)[1]!, 0), ...s.slice(2)],
    ])[0]!;
  }

  /** Channel halves with Split (opset 13+: sizes as an input). */
  splitHalves(x: string): [string, string] {
    const [n, c, h, w] = this.shape(x) as [number, number, number, number];
    const sizes = this.constant('split', int64([2], [c / 2, c / 2]));
    const [a, b] = this.node('Split', [x, sizes], { axis: 1 }, [
      [n, c / 2, h, w],
      [n, c / 2, h, w],
    ]);
    return [a!, b!];
  }

  /** Channel halves with Slice. */
  sliceHalves(x: string): [string, string] {
    const [n, c, h, w] = this.shape(x) as [number, number, number, number];
    const half = (from: number) =>
      this.node(
        'Slice',
        [
          x,
          this.constant('starts', int64([1], [from])),
          this.constant('ends', int64([1], [from + c / 2])),
          this.constant('axes', int64([1], [1])),
        ],
        {},
        [[n, c / 2, h, w]],
      )[0]!;
    return [half(0), half(c / 2)];
  }

  /** ShuffleNet's channel shuffle as exported with a dynamic batch: Reshape → Transpose → Reshape (0 copies the batch). */
  channelShuffle(x: string, groups: number): string {
    const [n, c, h, w] = this.shape(x) as [number, number, number, number];
    const [r1] = this.node(
      'Reshape',
      [x, this.constant('shape', int64([5], [0, groups, c / groups, h, w]))],
      {},
      [[n, groups, c / groups, h, w]],
    );
    const [t] = this.node('Transpose', [r1!], { perm: [0, 2, 1, 3, 4] }, [[n, c / groups, groups, h, w]]);
    return this.node('Reshape', [t!, this.constant('shape', int64([4], [0, c, h, w]))], {}, [
      [n, c, h, w],
    ])[0]!;
  }

  finish(output: string): Graph {
    const [y] = this.node('Identity', [output], {}, [this.shape(output)]);
    this.nodes.at(-1)!.outputs[0] = 'output';
    this.shapes.set('output', this.shape(y!));
    return {
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: [{ name: 'input', dtype: 'float32', shape: this.input }],
      outputs: ['output'],
      opset: 17,
    };
  }
}
