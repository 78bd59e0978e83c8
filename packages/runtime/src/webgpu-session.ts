import {
  type Activation,
  batchNormScaleShift,
  broadcastShape,
  Conv2dLayer,
  type ConvAlgorithm,
  chooseConvAlgorithm,
  encodeActivation,
  encodeAxisGather,
  encodeBinary,
  encodeChannelAffine,
  encodeConcatInto,
  encodeGlobalAvgPool,
  encodeParamActivation,
  encodePool,
  encodeSoftmax,
  encodeTranspose,
  FcLayer,
  type Gpu,
  type GpuTensor,
  poolOutput,
  type Recorder,
  requestDevice,
  SPARSE_FC_THRESHOLD,
} from '@zeroskip/gpu';
import { countNonzeros } from '@zeroskip/sparse';
import { cpuOps, sliceWindow, splitSizes } from './cpu-ops.js';
import { checkInputs } from './cpu-session.js';
import { attrNumber, attrNumbers, type Graph, type GraphNode } from './graph.js';
import { builtInActivation } from './passes.js';
import {
  axesOf,
  flattenShape,
  normAxis,
  reshapeShape,
  squeezeShape,
  unsqueezeShape,
  window2d,
} from './shapes.js';
import { asFloat32, float32, numbers, sizeOf, type Tensor } from './tensor.js';

export type PlanMode = 'auto' | 'dense' | 'sparse';

/** Which kernel runs each node: the inspectable plan. */
export interface PlanEntry {
  readonly node: string;
  readonly op: string;
  readonly kernel: string;
  readonly sparsity?: number;
  /** After tuning: the median GPU time (ms) of each candidate kernel, or 'cache' when the choice was cached. */
  readonly tuned?: Readonly<Record<string, number>> | 'cache';
}

/** Tuned kernel choices by (adapter, op, input and weight shape, sparsity); plain JSON, so it can be stored. */
export type PlanCache = Record<string, string>;

export interface TuneOptions {
  readonly cache?: PlanCache;
  /** Timed runs per candidate (median; default 5, after one warm-up). */
  readonly iterations?: number;
  readonly onProgress?: (done: number, total: number, node: string) => void;
}

const CONV_CANDIDATES = ['implicit-gemm', 'direct-sparse', 'im2col-spmm'] as const;
const FC_CANDIDATES = ['fc-dense', 'fc-sparse'] as const;

export interface WebGpuSessionOptions {
  /** A device to share; one is requested (and owned) when absent. */
  readonly gpu?: Gpu;
  /** Kernel choice for convolutions and FC layers: rules (auto), always dense, or always sparse. */
  readonly plan?: PlanMode;
}

type Value = { readonly gpu: GpuTensor } | { readonly host: Tensor };

/** Records nodes into `r` from the current one on, calling `mark(node index, first dispatch)` after each. */
type Segment = (r: Recorder, mark: (i: number, from: number) => void) => void;

/** Hooks that time a run: each GPU segment is submitted by `segment`; CPU nodes are reported to `cpu`. */
interface Profiler {
  segment(record: Segment): Promise<void>;
  cpu(i: number, ms: number): void;
}

/** Where one inference spends its time, node by node. */
export interface SessionProfile {
  readonly outputs: Record<string, Tensor>;
  /** Per node that did work, in run order: its kernel and time (GPU timestamps, NaN without them; host time for kernel 'cpu'). */
  readonly nodes: readonly { node: string; op: string; kernel: string; ms: number }[];
  /** GPU time of all dispatches (without timestamp queries: submit-to-done wall time of the GPU segments). */
  readonly gpuMs: number;
  /** Host time spent recording GPU commands (timed recording puts each dispatch in its own pass). */
  readonly recordMs: number;
  /** Wall time of the profiled run: GPU work, host work, uploads, read-back and waiting. */
  readonly wallMs: number;
  readonly clock: 'gpu-timestamp' | 'gpu-submit-wall';
}

const ACTIVATION_OPS = new Set(['Relu', 'Sigmoid', 'Clip']);
const VIEW_OPS = new Set(['Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']);
const BINARY = { Add: 'add', Sub: 'sub', Mul: 'mul', Div: 'div' } as const;

/** Runs a graph on WebGPU: weights uploaded once, one command encoder per inference between CPU fallbacks. */
export class WebGpuSession {
  readonly plan: PlanEntry[];
  /** The input shape each conv and FC node last ran on (what tuning measures with). */
  private readonly seen = new Map<GraphNode, readonly number[]>();
  private readonly convs = new Map<GraphNode, Conv2dLayer>();
  private readonly fcs = new Map<GraphNode, FcLayer>();
  private readonly constants = new Map<string, GpuTensor>();
  private readonly ops;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly gpu: Gpu,
    private readonly graph: Graph,
    private readonly mode: PlanMode,
    private readonly ownsGpu: boolean,
  ) {
    this.ops = cpuOps(graph.opset);
    this.plan = graph.nodes.map((n) => this.planNode(n));
  }

  static async create(graph: Graph, options: WebGpuSessionOptions = {}): Promise<WebGpuSession> {
    const gpu = options.gpu ?? (await requestDevice());
    return new WebGpuSession(gpu, graph, options.plan ?? 'auto', !options.gpu);
  }

  private constant(name: string): Tensor | undefined {
    return this.graph.initializers.get(name);
  }

  private convAlgorithm(n: GraphNode, w: Tensor): { algorithm: ConvAlgorithm; sparsity: number } {
    const sparsity = 1 - countNonzeros(w.data as Float32Array) / Math.max(1, w.data.length);
    const [, cg] = w.shape as [number, number];
    const groups = attrNumber(n, 'group', 1);
    const auto = chooseConvAlgorithm(cg, groups, sparsity);
    const algorithm =
      auto === 'depthwise' || this.mode === 'auto'
        ? auto
        : this.mode === 'dense'
          ? 'implicit-gemm'
          : 'direct-sparse';
    return { algorithm, sparsity };
  }

  private fcWeights(n: GraphNode): { w: Float32Array; outputs: number; bias?: Float32Array } | undefined {
    const b = this.constant(n.inputs[1]!);
    if (b?.shape.length !== 2 || b.dtype !== 'float32') return undefined;
    const data = b.data as Float32Array;
    if (n.op === 'MatMul' || (n.op === 'Gemm' && attrNumber(n, 'transA', 0) === 0)) {
      const transB = n.op === 'Gemm' && attrNumber(n, 'transB', 0) === 1;
      const [k, outputs] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
      const alpha = n.op === 'Gemm' ? attrNumber(n, 'alpha', 1) : 1;
      const w = transB
        ? data.map((v) => v * alpha)
        : Float32Array.from(
            { length: k * outputs },
            (_, i) => alpha * data[(i % k) * outputs + Math.floor(i / k)]!,
          );
      const c = n.op === 'Gemm' && n.inputs[2] ? this.constant(n.inputs[2]) : undefined;
      if (n.op === 'Gemm' && n.inputs[2] && (!c || c.data.length !== outputs)) return undefined;
      const beta = attrNumber(n, 'beta', 1);
      return { w, outputs, ...(c ? { bias: (c.data as Float32Array).map((v) => v * beta) } : {}) };
    }
    return undefined;
  }

  private planNode(n: GraphNode): PlanEntry {
    const base = { node: n.name, op: n.op };
    if (n.op === 'Conv' && this.constant(n.inputs[1]!) && (!n.inputs[2] || this.constant(n.inputs[2]))) {
      const { algorithm, sparsity } = this.convAlgorithm(n, this.constant(n.inputs[1]!)!);
      return { ...base, kernel: algorithm, sparsity };
    }
    if ((n.op === 'Gemm' || n.op === 'MatMul') && this.fcWeights(n)) {
      const w = this.constant(n.inputs[1]!)!;
      const sparsity = 1 - countNonzeros(w.data as Float32Array) / Math.max(1, w.data.length);
      const kernel =
        this.mode === 'dense'
          ? 'dense'
          : this.mode === 'sparse'
            ? 'sparse'
            : sparsity >= SPARSE_FC_THRESHOLD
              ? 'sparse'
              : 'dense';
      return { ...base, kernel: `fc-${kernel}`, sparsity };
    }
    if (ACTIVATION_OPS.has(n.op)) return { ...base, kernel: this.activationOf(n) ? 'activation' : 'cpu' };
    if (VIEW_OPS.has(n.op)) return { ...base, kernel: 'view' };
    const gpuOps: Record<string, string> = {
      MaxPool: 'pool-max',
      AveragePool: 'pool-avg',
      GlobalAveragePool: 'global-avg-pool',
      Add: 'binary',
      Sub: 'binary',
      Mul: 'binary',
      Div: 'binary',
      Concat: 'concat',
      Transpose: 'transpose',
      BatchNormalization: 'channel-affine',
      Softmax: 'softmax',
      Shape: 'host',
      Constant: 'host',
      Slice: 'slice',
      Split: 'split',
      Gather: 'gather',
      LeakyRelu: 'param-activation',
      HardSigmoid: 'param-activation',
      HardSwish: 'param-activation',
      ReduceMean: 'reduce-mean',
    };
    return { ...base, kernel: gpuOps[n.op] ?? 'cpu' };
  }

  private activationOf(n: GraphNode): Activation | undefined {
    return builtInActivation(n, this.graph.initializers);
  }

  /** Runs one inference; calls are queued, so concurrent run() calls are safe. */
  run(inputs: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    const next = this.queue.then(() => this.runNow(inputs));
    this.queue = next.catch(() => {});
    return next;
  }

  /**
   * Runs one inference with every dispatch timed, to show where the time goes: the sum of GPU time
   * against the wall time exposes host overhead. Timing puts each dispatch in its own compute pass.
   */
  profile(inputs: Readonly<Record<string, Tensor>>): Promise<SessionProfile> {
    const next = this.queue.then(async () => {
      const nodes: SessionProfile['nodes'][number][] = [];
      let clock: SessionProfile['clock'] = 'gpu-timestamp';
      let gpuMs = 0;
      let recordMs = 0;
      const t0 = performance.now();
      const outputs = await this.runNow(inputs, {
        segment: async (record) => {
          const spans: { i: number; from: number; to: number }[] = [];
          const p = await this.gpu.profile((r) => {
            const t0 = performance.now();
            record(r, (i, from) => spans.push({ i, from, to: r.labels.length }));
            recordMs += performance.now() - t0;
          });
          clock = p.clock;
          gpuMs += p.ms;
          for (const { i, from, to } of spans) {
            if (from === to) continue;
            const ns = p.dispatches.slice(from, to).reduce((sum, d) => sum + d.ns, 0);
            const { node, op, kernel } = this.plan[i]!;
            nodes.push({ node, op, kernel, ms: p.dispatches.length ? ns / 1e6 : Number.NaN });
          }
        },
        cpu: (i, ms) => nodes.push({ node: this.plan[i]!.node, op: this.plan[i]!.op, kernel: 'cpu', ms }),
      });
      return { outputs, nodes, gpuMs, recordMs, wallMs: performance.now() - t0, clock };
    });
    this.queue = next.catch(() => {});
    return next;
  }

  private async runNow(
    inputs: Readonly<Record<string, Tensor>>,
    profiler?: Profiler,
  ): Promise<Record<string, Tensor>> {
    checkInputs(this.graph, inputs);
    const { gpu, graph } = this;
    const values = new Map<string, Value>();
    const refs = new Map<GPUBuffer, number>();
    const lastUse = new Map<string, number>();
    graph.nodes.forEach((n, i) => {
      for (const v of n.inputs) lastUse.set(v, i);
    });
    const setValue = (name: string, v: Value) => {
      values.set(name, v);
      if ('gpu' in v && !this.isConstantBuffer(v.gpu))
        refs.set(v.gpu.buffer, (refs.get(v.gpu.buffer) ?? 0) + 1);
    };
    const drop = (name: string) => {
      const v = values.get(name);
      values.delete(name);
      if (!v || !('gpu' in v) || this.isConstantBuffer(v.gpu)) return;
      const left = (refs.get(v.gpu.buffer) ?? 1) - 1;
      refs.set(v.gpu.buffer, left);
      if (left === 0) gpu.release(v.gpu);
    };
    const get = (name: string): Value | undefined => {
      if (name === '') return undefined;
      const v = values.get(name);
      if (v) return v;
      const c = graph.initializers.get(name);
      return c ? { host: c } : undefined;
    };
    const finish = (i: number) => {
      for (const v of graph.nodes[i]!.inputs) if (lastUse.get(v) === i && !graph.outputs.includes(v)) drop(v);
    };
    try {
      for (const [name, t] of Object.entries(inputs))
        setValue(
          name,
          t.dtype === 'float32' ? { gpu: gpu.tensor(t.shape, t.data as Float32Array) } : { host: t },
        );
      let i = 0;
      while (i < graph.nodes.length) {
        const record: Segment = (r, mark) => {
          while (i < graph.nodes.length) {
            const n = graph.nodes[i]!;
            const from = r.labels.length;
            const outs = this.encode(r, n, n.inputs.map(get));
            if (!outs) break;
            mark(i, from);
            for (const [k, o] of n.outputs.entries()) setValue(o, outs[k]!);
            finish(i++);
          }
        };
        await (profiler ? profiler.segment(record) : gpu.submit((r) => record(r, () => {})));
        if (i < graph.nodes.length) {
          const n = graph.nodes[i]!;
          const host = await Promise.all(n.inputs.map(async (name) => this.toHost(get(name))));
          const t0 = performance.now();
          const outs = this.ops[n.op]!(n, host);
          profiler?.cpu(i, performance.now() - t0);
          for (const [k, o] of n.outputs.entries()) {
            const t = outs[k]!;
            setValue(
              o,
              t.dtype === 'float32' ? { gpu: gpu.tensor(t.shape, t.data as Float32Array) } : { host: t },
            );
          }
          finish(i++);
        }
      }
      const result: Record<string, Tensor> = {};
      for (const o of graph.outputs) result[o] = (await this.toHost(get(o)))!;
      return result;
    } finally {
      for (const name of [...values.keys()]) drop(name);
    }
  }

  private isConstantBuffer(t: GpuTensor): boolean {
    for (const c of this.constants.values()) if (c.buffer === t.buffer) return true;
    return false;
  }

  private async toHost(v: Value | undefined): Promise<Tensor | undefined> {
    if (!v) return undefined;
    if ('host' in v) return v.host;
    return float32(v.gpu.shape, await this.gpu.read(v.gpu));
  }

  /** A float tensor on the GPU: as it is, or an initializer uploaded once. */
  private onGpu(v: Value | undefined, name: string): GpuTensor | undefined {
    if (!v) return undefined;
    if ('gpu' in v) return v.gpu;
    if (v.host.dtype !== 'float32') return undefined;
    let t = this.constants.get(name);
    if (!t) {
      t = this.gpu.tensor(v.host.shape, v.host.data as Float32Array);
      this.constants.set(name, t);
    }
    return t;
  }

  /** Records node `n`, or returns undefined when it must run on the CPU with its inputs read back. */
  private encode(r: Recorder, n: GraphNode, inputs: (Value | undefined)[]): Value[] | undefined {
    const gpu = this.gpu;
    // nodes on host values (shape arithmetic) run on the CPU at once, with no GPU round trip
    if (inputs.every((v) => !v || 'host' in v)) {
      return this.ops[n.op]!(
        n,
        inputs.map((v) => (v && 'host' in v ? v.host : undefined)),
      ).map((host) => ({ host }));
    }
    const x = inputs[0] && 'gpu' in inputs[0] ? inputs[0].gpu : undefined;
    const entry = this.plan[this.graph.nodes.indexOf(n)]!;
    const view = (shape: readonly number[]) => (x ? [{ gpu: { ...x, shape: [...shape] } }] : undefined);
    const hostArg = (i: number) => (inputs[i] && 'host' in inputs[i]! ? numbers(inputs[i]!.host) : undefined);
    switch (entry.kernel) {
      case 'host':
        // Shape reads only the shape, which the GPU tensor carries: no read-back
        if (n.op !== 'Shape' || !x) return undefined;
        return this.ops.Shape!(n, [float32(x.shape)]).map((host) => ({ host }));
      case 'view':
        if (!x) return undefined;
        if (n.op === 'Flatten') return view(flattenShape(x.shape, n));
        if (n.op === 'Reshape') return hostArg(1) ? view(reshapeShape(x.shape, hostArg(1)!, n)) : undefined;
        if (n.op === 'Squeeze') return view(squeezeShape(x.shape, axesOf(n, hostArg(1)), n));
        if (n.op === 'Unsqueeze') {
          const axes = axesOf(n, hostArg(1));
          return axes ? view(unsqueezeShape(x.shape, axes, n)) : undefined;
        }
        return view(x.shape);
      case 'implicit-gemm':
      case 'direct-sparse':
      case 'depthwise':
      case 'im2col-gemm':
      case 'im2col-spmm': {
        if (!x) return undefined;
        this.seen.set(n, x.shape);
        let layer = this.convs.get(n);
        if (!layer) {
          layer = this.convLayer(n, x.shape, entry.kernel as ConvAlgorithm);
          this.convs.set(n, layer);
        }
        return [{ gpu: layer.encode(r, x) }];
      }
      case 'fc-dense':
      case 'fc-sparse': {
        if (x?.shape.length !== 2) return undefined;
        this.seen.set(n, x.shape);
        let layer = this.fcs.get(n);
        if (!layer) {
          layer = this.fcLayer(n, entry.kernel);
          this.fcs.set(n, layer);
        }
        return [{ gpu: layer.encode(r, x) }];
      }
      case 'slice': {
        if (!x || inputs.slice(1).some((v) => v && !('host' in v))) return undefined;
        const w = sliceWindow(
          n,
          x.shape,
          inputs.map((v) => (v && 'host' in v ? v.host : undefined)),
        );
        // one strided gather per sliced axis (positive steps; others run on the CPU)
        if (w.steps.some((st) => st < 1)) return undefined;
        let cur = x;
        for (let a = 0; a < x.shape.length; a++) {
          if (w.starts[a] === 0 && w.steps[a] === 1 && w.sizes[a] === cur.shape[a]) continue;
          const next = gpu.empty(cur.shape.map((d, i) => (i === a ? w.sizes[a]! : d)));
          encodeAxisGather(r, cur, next, a, { start: w.starts[a]!, step: w.steps[a]!, count: w.sizes[a]! });
          if (cur !== x) gpu.release(cur);
          cur = next;
        }
        return [{ gpu: cur === x ? { ...x } : cur }];
      }
      case 'split': {
        if (!x || (inputs[1] && !('host' in inputs[1]))) return undefined;
        const { axis, sizes } = splitSizes(
          n,
          x.shape,
          inputs.map((v) => (v && 'host' in v ? v.host : undefined)),
        );
        let at = 0;
        return sizes.map((size) => {
          const y = gpu.empty(x.shape.map((d, i) => (i === axis ? size : d)));
          encodeAxisGather(r, x, y, axis, { start: at, step: 1, count: size });
          at += size;
          return { gpu: y };
        });
      }
      case 'gather': {
        const idx = inputs[1];
        if (!x || !idx || !('host' in idx)) return undefined;
        const axis = normAxis(attrNumber(n, 'axis', 0), x.shape.length, n);
        const dim = x.shape[axis]!;
        const indices = numbers(idx.host).map((v) => (v < 0 ? v + dim : v));
        const y = gpu.empty([...x.shape.slice(0, axis), ...idx.host.shape, ...x.shape.slice(axis + 1)]);
        encodeAxisGather(
          r,
          x,
          { ...y, shape: [...x.shape.slice(0, axis), indices.length, ...x.shape.slice(axis + 1)] },
          axis,
          { indices },
        );
        return [{ gpu: y }];
      }
      case 'param-activation': {
        if (!x) return undefined;
        const y = gpu.empty(x.shape);
        if (n.op === 'LeakyRelu') encodeParamActivation(r, x, y, 'leakyrelu', attrNumber(n, 'alpha', 0.01));
        else if (n.op === 'HardSigmoid')
          encodeParamActivation(
            r,
            x,
            y,
            'hardsigmoid',
            attrNumber(n, 'alpha', 0.2),
            attrNumber(n, 'beta', 0.5),
          );
        else encodeParamActivation(r, x, y, 'hardswish');
        return [{ gpu: y }];
      }
      case 'reduce-mean': {
        // the spatial mean of NCHW (what CNN exports use) is a global average pool; other axes run on the CPU
        if (x?.shape.length !== 4) return undefined;
        const axes = axesOf(n, hostArg(1))
          ?.map((a) => normAxis(a, 4, n))
          .sort();
        if (axes?.join() !== '2,3') return undefined;
        const [b, c] = x.shape as [number, number];
        const y = gpu.empty([b, c]);
        encodeGlobalAvgPool(r, x, y);
        return [{ gpu: { ...y, shape: attrNumber(n, 'keepdims', 1) === 1 ? [b, c, 1, 1] : [b, c] } }];
      }
      case 'activation': {
        if (!x) return undefined;
        const y = gpu.empty(x.shape);
        encodeActivation(r, x, y, this.activationOf(n)!);
        return [{ gpu: y }];
      }
      case 'pool-max':
      case 'pool-avg': {
        if (x?.shape.length !== 4) return undefined;
        const win = window2d(n, x.shape, attrNumbers(n, 'kernel_shape') ?? []);
        const ceil = attrNumber(n, 'ceil_mode', 0) === 1;
        const [b, c, h, w] = x.shape as [number, number, number, number];
        const ho = poolOutput(
          h,
          win.kernel[0],
          win.stride[0],
          win.pads[0],
          win.pads[2],
          win.dilation[0],
          ceil,
        );
        const wo = poolOutput(
          w,
          win.kernel[1],
          win.stride[1],
          win.pads[1],
          win.pads[3],
          win.dilation[1],
          ceil,
        );
        const y = gpu.empty([b, c, ho, wo]);
        encodePool(r, x, y, n.op === 'MaxPool' ? 'max' : 'avg', {
          kernel: win.kernel,
          stride: win.stride,
          pads: win.pads,
          dilation: win.dilation,
          ceilMode: ceil,
          countIncludePad: attrNumber(n, 'count_include_pad', 0) === 1,
        });
        return [{ gpu: y }];
      }
      case 'global-avg-pool': {
        if (x?.shape.length !== 4) return undefined;
        const y = gpu.empty([x.shape[0]!, x.shape[1]!, 1, 1]);
        encodeGlobalAvgPool(r, x, { ...y, shape: [x.shape[0]!, x.shape[1]!] });
        return [{ gpu: y }];
      }
      case 'binary': {
        const a = this.onGpu(inputs[0], n.inputs[0]!);
        const b = this.onGpu(inputs[1], n.inputs[1]!);
        if (!a || !b) return undefined;
        const y = gpu.empty(broadcastShape(a.shape, b.shape));
        encodeBinary(r, a, b, y, BINARY[n.op as keyof typeof BINARY]);
        return [{ gpu: y }];
      }
      case 'concat': {
        const parts = inputs.map((v, i) => this.onGpu(v, n.inputs[i]!));
        if (parts.some((p) => !p)) return undefined;
        const first = parts[0]!;
        const axis = normAxis(attrNumber(n, 'axis', 0), first.shape.length, n);
        const shape = first.shape.map((d, i) =>
          i === axis ? parts.reduce((s, p) => s + p!.shape[axis]!, 0) : d,
        );
        const y = gpu.empty(shape);
        let offset = 0;
        for (const p of parts) {
          encodeConcatInto(r, p!, y, axis, offset);
          offset += p!.shape[axis]!;
        }
        return [{ gpu: y }];
      }
      case 'transpose': {
        if (!x || x.shape.length > 6) return undefined;
        const perm = attrNumbers(n, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
        const y = gpu.empty(perm.map((p) => x.shape[p]!));
        encodeTranspose(r, x, y, perm);
        return [{ gpu: y }];
      }
      case 'softmax': {
        if (!x) return undefined;
        const rank = x.shape.length;
        const axis = normAxis(attrNumber(n, 'axis', this.graph.opset >= 13 ? -1 : 1), rank, n);
        if (axis !== rank - 1) return undefined;
        const y = gpu.empty(x.shape);
        encodeSoftmax(r, x, y);
        return [{ gpu: y }];
      }
      case 'channel-affine': {
        const params = [1, 2, 3, 4].map((i) => this.constant(n.inputs[i]!));
        if (!x || params.some((p) => !p)) return undefined;
        const key = `${n.name}::affine`;
        let st = this.constants.get(`${key}:s`);
        let sh = this.constants.get(`${key}:b`);
        if (!st || !sh) {
          const [g, b, m, v] = params.map((p) => p!.data as Float32Array);
          const { scale, shift } = batchNormScaleShift(g!, b!, m!, v!, attrNumber(n, 'epsilon', 1e-5));
          st = gpu.tensor([scale.length], scale);
          sh = gpu.tensor([shift.length], shift);
          this.constants.set(`${key}:s`, st);
          this.constants.set(`${key}:b`, sh);
        }
        const y = gpu.empty(x.shape);
        encodeChannelAffine(r, x, st, sh, y, x.shape[1] ?? 1, sizeOf(x.shape.slice(2)), 'none');
        return [{ gpu: y }];
      }
      default:
        return undefined;
    }
  }

  private convLayer(n: GraphNode, input: readonly number[], algorithm: ConvAlgorithm): Conv2dLayer {
    const w = this.constant(n.inputs[1]!)!;
    const b = n.inputs[2] ? this.constant(n.inputs[2]) : undefined;
    const win = window2d(n, input, attrNumbers(n, 'kernel_shape') ?? w.shape.slice(2));
    return new Conv2dLayer(this.gpu, {
      weights: asFloat32(w, 'Conv weights'),
      shape: w.shape as [number, number, number, number],
      ...(b ? { bias: asFloat32(b, 'Conv bias') } : {}),
      stride: win.stride,
      pads: win.pads,
      dilation: win.dilation,
      groups: attrNumber(n, 'group', 1),
      activation: (n.attrs.activation as Activation | undefined) ?? 'none',
      algorithm,
    });
  }

  private fcLayer(n: GraphNode, kernel: string): FcLayer {
    const fw = this.fcWeights(n)!;
    return new FcLayer(this.gpu, {
      weights: fw.w,
      outputs: fw.outputs,
      ...(fw.bias ? { bias: fw.bias } : {}),
      activation: (n.attrs.activation as Activation | undefined) ?? 'none',
      algorithm: kernel === 'fc-sparse' ? 'sparse' : 'dense',
    });
  }

  /**
   * Measures every candidate kernel of each conv and FC layer on this device, at the input shape the
   * layer sees for `inputs`, and keeps the fastest (cached per adapter, layer shape and sparsity).
   * Depthwise layers keep their kernel.
   */
  tune(inputs: Readonly<Record<string, Tensor>>, options: TuneOptions = {}): Promise<PlanEntry[]> {
    const next = this.queue.then(() => this.tuneNow(inputs, options));
    this.queue = next.catch(() => {});
    return next;
  }

  private async tuneNow(
    inputs: Readonly<Record<string, Tensor>>,
    options: TuneOptions,
  ): Promise<PlanEntry[]> {
    await this.runNow(inputs); // records each layer's input shape
    const { gpu } = this;
    const adapter = `${gpu.adapter.vendor}/${gpu.adapter.architecture}/${gpu.adapter.device}/${gpu.adapter.description}`;
    const targets = this.graph.nodes.flatMap((n, i) => {
      const kernel = this.plan[i]!.kernel;
      const candidates = (CONV_CANDIDATES as readonly string[]).includes(kernel)
        ? CONV_CANDIDATES
        : (FC_CANDIDATES as readonly string[]).includes(kernel)
          ? FC_CANDIDATES
          : undefined;
      const shape = this.seen.get(n);
      return candidates && shape ? [{ n, i, candidates, shape }] : [];
    });
    const iterations = options.iterations ?? 5;
    for (const [done, { n, i, candidates, shape }] of targets.entries()) {
      const entry = this.plan[i]!;
      const w = this.constant(n.inputs[1]!)!;
      const key = `${adapter}|${n.op}|${shape.join('x')}|${w.shape.join('x')}|${JSON.stringify({ ...n.attrs, activation: undefined })}|${(entry.sparsity ?? 0).toFixed(3)}`;
      const cached = options.cache?.[key];
      let best =
        cached !== undefined && (candidates as readonly string[]).includes(cached) ? cached : undefined;
      let tuned: PlanEntry['tuned'] = 'cache';
      if (!best) {
        const times: Record<string, number> = {};
        const x = gpu.empty(shape);
        for (const kernel of candidates) {
          const layer =
            n.op === 'Conv' ? this.convLayer(n, shape, kernel as ConvAlgorithm) : this.fcLayer(n, kernel);
          try {
            const once = (r: Recorder) => gpu.release(layer.encode(r, x));
            await gpu.submit(once);
            const samples: number[] = [];
            for (let k = 0; k < iterations; k++) samples.push((await gpu.profile(once)).ms);
            times[kernel] = samples.sort((a, b) => a - b)[samples.length >> 1]!;
          } catch {
            // a candidate this device cannot run (a buffer over its limits) is simply not chosen
          } finally {
            layer.destroy();
          }
        }
        gpu.release(x);
        best = Object.entries(times).sort((a, b) => a[1] - b[1])[0]?.[0] ?? entry.kernel;
        tuned = times;
        if (options.cache) options.cache[key] = best;
      }
      this.plan[i] = { ...entry, kernel: best, tuned };
      this.convs.get(n)?.destroy();
      this.convs.delete(n);
      this.fcs.get(n)?.destroy();
      this.fcs.delete(n);
      options.onProgress?.(done + 1, targets.length, n.name);
    }
    return this.plan;
  }

  /** Frees the uploaded weights (and the device, when this session opened it). */
  destroy(): void {
    for (const l of this.convs.values()) l.destroy();
    for (const l of this.fcs.values()) l.destroy();
    for (const t of this.constants.values()) this.gpu.release(t);
    this.convs.clear();
    this.fcs.clear();
    this.constants.clear();
    if (this.ownsGpu) this.gpu.destroy();
  }
}
