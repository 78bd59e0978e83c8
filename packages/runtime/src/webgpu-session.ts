import {
  ALL_FINITE,
  type Command,
  encodeFirstNonFinite,
  encodeUnpackBits,
  type Gpu,
  type GpuTensor,
  type PackedEncoding,
  type Recorder,
  requestDevice,
} from '@zeroskip/gpu';
import { type ConcatSlot, placeConcats } from './concat-in-place.js';
import { checkFinite, checkInputs, nonFiniteInput } from './cpu-session.js';
import type { Graph, GraphNode } from './graph.js';
import { storage } from './ops/cast.js';
import { opDef } from './ops/registry.js';
import type { EncodeContext, OpDef, OutputSlice, PlanContext, PlanMode, ValueInfo } from './ops/types.js';
import { inferShapes } from './shape-inference.js';
import { float32, sizeOf, type Tensor, tensor } from './tensor.js';

export type { PlanMode } from './ops/types.js';

/** Which kernel runs each node: the inspectable plan ('host' for values known before running, 'cpu' for CPU fallbacks). */
export interface PlanEntry {
  readonly node: string;
  readonly op: string;
  readonly kernel: string;
  readonly sparsity?: number;
  /**
   * After tuning: the median GPU time (ms) of each candidate kernel, or 'cache' when the choice was
   * cached. The kernel is the fastest of them unless the whole plan ran faster with the untuned kernels.
   */
  readonly tuned?: Readonly<Record<string, number>> | 'cache';
}

/** Tuned kernel choices by (adapter, op, input shapes, attributes, sparsity); plain JSON, so it can be stored. */
export type PlanCache = Record<string, string>;

export interface TuneOptions {
  readonly cache?: PlanCache;
  /** Timed runs per candidate (median; default 5, after one warm-up). */
  readonly iterations?: number;
  readonly onProgress?: (done: number, total: number, node: string) => void;
}

export interface CompileOptions {
  /** Called as each pipeline is ready: `done` of `total`, and the pipeline's name and specialisation. */
  readonly onProgress?: (done: number, total: number, pipeline: string) => void;
}

export interface WebGpuSessionOptions {
  /** A device to share; one is requested (and owned) when absent. */
  readonly gpu?: Gpu;
  /** Kernel choice for convolutions and FC layers: rules (auto), always dense, or always sparse. */
  readonly plan?: PlanMode;
}

/** Where one inference spends its time, node by node. */
export interface SessionProfile {
  readonly outputs: Record<string, Tensor>;
  /** Per node that did work, in run order: its kernel and time (GPU timestamps, NaN without them; host time for kernel 'cpu'). */
  readonly nodes: readonly { node: string; op: string; kernel: string; ms: number }[];
  /** GPU time of all dispatches (without timestamp queries: submit-to-done wall time of the GPU segments). */
  readonly gpuMs: number;
  /**
   * GPU time of a second run recorded as an untimed run is (many dispatches to a compute pass), each
   * pass timed: what the inference costs the GPU, without the pass per dispatch that timing each
   * dispatch takes.
   */
  readonly runGpuMs: number;
  /** Host time spent recording GPU commands (timed recording puts each dispatch in its own pass). */
  readonly recordMs: number;
  /** Wall time of the profiled run: GPU work, host work, uploads, read-back and waiting. */
  readonly wallMs: number;
  readonly clock: 'gpu-timestamp' | 'gpu-submit-wall';
}

/** One node's place in a plan: its kernel and the shapes it runs at. */
interface NodePlan {
  readonly node: GraphNode;
  readonly def: OpDef;
  /** 'host' (outputs known before running), 'cpu', or the GPU kernel. */
  readonly kernel: string;
  readonly sparsity?: number;
  readonly candidates?: readonly string[];
  readonly outputBits?: PackedEncoding;
  readonly writesInto?: boolean;
  readonly inputs: readonly (ValueInfo | undefined)[];
  readonly outputs: readonly ValueInfo[];
}

/** A Concat whose inputs wrote into its output (`placeConcats`): it records nothing. */
const IN_PLACE = 'in-place';

interface Plan {
  readonly nodes: readonly NodePlan[];
  /** Values written straight into a Concat's output, and where. */
  readonly slots: ReadonlyMap<string, ConcatSlot>;
  /** Values held bit-packed on the GPU, and their encodings. */
  readonly bits: ReadonlyMap<string, PackedEncoding>;
  /** Values that GPU nodes read: CPU nodes upload such outputs at once, outside any recording. */
  readonly gpuReads: ReadonlySet<string>;
  readonly info: ReadonlyMap<string, ValueInfo>;
}

/**
 * A value during a run: on the host, or on the GPU as float32 or bit-packed planes (`bits`, of the
 * float32 value of `shape`), whose float32 unpacking is made once, when a reader first needs it.
 */
/** What a node's cached encoder context is rebound to for each recording. */
interface ContextState {
  r?: Recorder;
  get?: (name: string) => Value | undefined;
  /** Keeps a tensor made for a value (its float32 unpacking) alive for as long as the value. */
  hold?: (t: GpuTensor) => void;
  into?: OutputSlice | undefined;
}

type Shape4 = readonly [number, number, number, number];

type Value =
  | { readonly gpu: GpuTensor; readonly bits?: { encoding: PackedEncoding; shape: Shape4 }; f32?: GpuTensor }
  | { readonly host: Tensor };
type Resource = { destroy(): void };

/** Recorded runs a session keeps, one per input shape most recently run. */
const MAX_TRACES = 4;

/**
 * A run recorded for replay: its commands, the buffers its inputs go to, where its outputs come from,
 * and the pooled buffers it keeps out of circulation so that they hold what the commands expect.
 */
interface Trace {
  readonly commands: readonly Command[];
  readonly inputs: ReadonlyMap<string, GPUBuffer>;
  /** Per graph output: the index of its read among the commands' reads, or a value known on the host. */
  readonly outputs: readonly (
    | { readonly read: number; readonly shape: readonly number[] }
    | { readonly host: Tensor }
  )[];
  /** Per input scanned on the GPU: the index of its first-non-finite read among the commands' reads. */
  readonly checks: readonly { readonly name: string; readonly read: number }[];
  readonly claimed: readonly GPUBuffer[];
  readonly generation: number;
}

/** Records nodes into `r` from the current one on, calling `mark(node index, first dispatch)` after each. */
type Segment = (r: Recorder, mark: (i: number, from: number) => void) => void;

/**
 * Hooks that change how a run goes: each GPU segment is handed to `segment` instead of being
 * submitted; CPU nodes are reported to `cpu`.
 */
interface RunHooks {
  segment(record: Segment): Promise<void>;
  cpu?(i: number, ms: number): void;
  /** A rehearsal: CPU nodes are not run but give zeros of their output shapes, and no output is read. */
  readonly rehearse?: boolean;
}

/** Zeros of a value's shape and type: what a CPU node gives in a rehearsal. */
function zeros({ dtype, shape }: ValueInfo): Tensor {
  return tensor(dtype, shape, storage(dtype, sizeOf(shape)));
}

const isGpuKernel = (kernel: string) => kernel !== 'host' && kernel !== 'cpu';

/**
 * Runs a graph on WebGPU. A plan per input shape decides, from the op registry's GPU `plan` checks,
 * which nodes run on the GPU (recorded into one command encoder per stretch between CPU fallbacks),
 * which on the CPU, and which are known before running. Weights are uploaded once.
 */
export class WebGpuSession {
  private readonly plans = new Map<string, Plan>();
  private current: Plan | undefined;
  private readonly tuned = new Map<GraphNode, { kernel: string; times: NonNullable<PlanEntry['tuned']> }>();
  private readonly resources = new Map<GraphNode, Map<string, Resource>>();
  /** Bumped when a node's resources are freed, so that values planned from them are made again. */
  private readonly versions = new Map<GraphNode, number>();
  private readonly contexts = new WeakMap<NodePlan, ReturnType<WebGpuSession['makeContext']>>();
  /** Constant tensors (initializers, values known before running) uploaded once, by identity. */
  private readonly uploads = new Map<Tensor, GpuTensor>();
  private readonly uploaded = new Set<GPUBuffer>();
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * A recorded run per plan that runs entirely on the GPU: later runs of the plan replay its commands,
   * skipping kernel choice, buffer allocation and binding (most of a run's host time).
   */
  private readonly traces = new Map<Plan, Trace>();
  /**
   * Per float32 input that goes to the GPU, where a scan run with the graph leaves the index of its first
   * NaN or ±Infinity (one per input: a session runs one inference at a time); and their reset value.
   */
  private readonly firsts = new Map<string, GpuTensor>();
  private allFinite: GpuTensor | undefined;

  private constructor(
    readonly gpu: Gpu,
    private readonly graph: Graph,
    private readonly mode: PlanMode,
    private readonly ownsGpu: boolean,
  ) {}

  static async create(graph: Graph, options: WebGpuSessionOptions = {}): Promise<WebGpuSession> {
    const gpu = options.gpu ?? (await requestDevice());
    return new WebGpuSession(gpu, graph, options.plan ?? 'auto', !options.gpu);
  }

  /**
   * The plan of the latest run; before the first, the plan at the graph's declared input shapes with
   * unknown sizes as 1 (a model whose layers do not fit such inputs has no plan until it runs, or
   * until {@link planFor} is asked for the sizes it will see).
   */
  get plan(): PlanEntry[] {
    return this.entries(
      this.current ??
        this.use(
          Object.fromEntries(this.graph.inputs.map((i) => [i.name, i.shape.map((d) => (d < 0 ? 1 : d))])),
        ),
    );
  }

  /** The plan for inputs of these shapes (by input name), which later runs at those shapes follow. */
  planFor(shapes: Readonly<Record<string, readonly number[]>>): PlanEntry[] {
    return this.entries(this.use(shapes));
  }

  private entries(plan: Plan): PlanEntry[] {
    return plan.nodes.map((p) => {
      const t = this.tuned.get(p.node);
      return {
        node: p.node.name,
        op: p.node.op,
        kernel: this.kernelOf(p),
        ...(p.sparsity === undefined ? {} : { sparsity: p.sparsity }),
        ...(t && p.candidates?.includes(t.kernel) ? { tuned: t.times } : {}),
      };
    });
  }

  private kernelOf(p: NodePlan): string {
    const t = this.tuned.get(p.node)?.kernel;
    return t !== undefined && p.candidates?.includes(t) ? t : p.kernel;
  }

  private use(shapes: Readonly<Record<string, readonly number[]>>): Plan {
    const key = JSON.stringify(this.graph.inputs.map((i) => shapes[i.name]));
    let plan = this.plans.get(key);
    if (!plan) {
      plan = this.makePlan(shapes);
      this.plans.set(key, plan);
    }
    this.current = plan;
    return plan;
  }

  private makePlan(shapes: Readonly<Record<string, readonly number[]>>): Plan {
    const { graph } = this;
    const info = inferShapes(graph, shapes);
    const packed = new Map<string, PackedEncoding>();
    const ctx: PlanContext = {
      opset: graph.opset,
      mode: this.mode,
      software: this.gpu.software,
      constant: (name) => info.get(name)?.value,
      bits: (name) => packed.get(name),
    };
    const gpuReads = new Set<string>();
    const planned = graph.nodes.map((node): NodePlan => {
      const def = opDef(node.op);
      const inputs = node.inputs.map((v) => (v === '' ? undefined : info.get(v)));
      const outputs = node.outputs.map((o) => info.get(o)).filter((v) => v !== undefined);
      const base = { node, def, inputs, outputs };
      if (outputs.every((o) => o.value)) return { ...base, kernel: 'host' };
      const choice = def.gpu?.plan(node, inputs, ctx);
      if (!choice) return { ...base, kernel: 'cpu' };
      for (const v of node.inputs) gpuReads.add(v);
      if (choice.outputBits) packed.set(node.outputs[0]!, choice.outputBits);
      return { ...base, ...choice };
    });
    const { slots, inPlace } = placeConcats(
      graph,
      planned.map((p) => ({
        node: p.node,
        onGpu: isGpuKernel(p.kernel),
        writesInto: p.writesInto === true,
        packed: p.outputBits !== undefined,
      })),
      info,
    );
    const nodes = planned.map((p) => (inPlace.has(p.node) ? { ...p, kernel: IN_PLACE } : p));
    return { nodes, slots, gpuReads, info, bits: packed };
  }

  /**
   * A float32 input tensor of `shape` whose values live in memory the GPU copies from: filled and passed
   * to {@link run}, it is uploaded without the host copy an ordinary array takes, which bounds an
   * upload's rate. It serves one run (it is empty afterwards); an input that only CPU nodes read stays
   * on the host and keeps its values.
   */
  uploadTensor(shape: readonly number[]): Tensor {
    return float32(shape, this.gpu.uploadArray(sizeOf(shape)));
  }

  /** Runs one inference; calls are queued, so concurrent run() calls are safe. */
  run(inputs: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    return this.enqueue(() => this.runNow(inputs));
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task);
    this.queue = next.catch(() => {});
    return next;
  }

  /**
   * Runs one inference with every dispatch timed, to show where the time goes: the sum of GPU time
   * against the wall time exposes host overhead. Timing puts each dispatch in its own compute pass, so
   * a second inference, timed by pass, gives the GPU time of the run as it is recorded untimed.
   */
  profile(inputs: Readonly<Record<string, Tensor>>): Promise<SessionProfile> {
    return this.enqueue(async () => {
      const nodes: SessionProfile['nodes'][number][] = [];
      let clock: SessionProfile['clock'] = 'gpu-timestamp';
      let gpuMs = 0;
      let recordMs = 0;
      const t0 = performance.now();
      const entry = (i: number) => ({ node: this.graph.nodes[i]!.name, op: this.graph.nodes[i]!.op });
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
            const kernel = this.kernelOf(this.current!.nodes[i]!);
            nodes.push({ ...entry(i), kernel, ms: p.dispatches.length ? ns / 1e6 : Number.NaN });
          }
        },
        cpu: (i, ms) => nodes.push({ ...entry(i), kernel: 'cpu', ms }),
      });
      const wallMs = performance.now() - t0;
      let runGpuMs = 0;
      await this.runNow(inputs, {
        segment: async (record) => {
          runGpuMs += (await this.gpu.profile((r) => record(r, () => {}), { each: 'pass' })).ms;
        },
      });
      return { outputs, nodes, gpuMs, runGpuMs, recordMs, wallMs, clock };
    });
  }

  /**
   * Builds, before the first run, every pipeline that runs at these inputs' shapes will use (their
   * values do not matter), compiling them concurrently and reporting each as it is ready; weights are
   * uploaded too. A rehearsal of the plan finds the pipelines: it records every GPU node, submitting
   * nothing, with zeros standing in for what CPU fallbacks would compute. Returns how many were built.
   */
  compile(inputs: Readonly<Record<string, Tensor>>, options: CompileOptions = {}): Promise<number> {
    return this.enqueue(async () => {
      await this.runNow(inputs, {
        rehearse: true,
        segment: async (record) => this.gpu.rehearse((r) => record(r, () => {})),
      });
      return this.gpu.buildPipelines(options.onProgress);
    });
  }

  private async runNow(
    inputs: Readonly<Record<string, Tensor>>,
    hooks?: RunHooks,
  ): Promise<Record<string, Tensor>> {
    const { gpu, graph } = this;
    // names and shapes first, then finite values where the GPU does not scan them
    checkInputs(graph, inputs, () => true);
    const plan = this.use(Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, t.shape])));
    // float values that GPU nodes read go to the GPU
    const toGpu = (name: string, t: Tensor) => t.dtype === 'float32' && plan.gpuReads.has(name);
    const onGpu = (name: string) => toGpu(name, inputs[name]!);
    for (const { name } of graph.inputs) if (!onGpu(name)) checkFinite(name, inputs[name]!);
    const trace = this.traces.get(plan);
    if (trace && !hooks) {
      if (trace.generation === gpu.generation) {
        // most recently used last, so the least recently used goes first when there are too many
        this.traces.delete(plan);
        this.traces.set(plan, trace);
        try {
          return await this.replay(trace, inputs);
        } catch (e) {
          // whatever failed, the next run records afresh rather than replay a recording that may be at fault
          this.dropTrace(plan);
          throw e;
        }
      }
      this.dropTrace(plan);
    }
    // a run without CPU nodes whose inputs all go to the GPU is recorded for replay
    const capture =
      !hooks && plan.nodes.every((p) => p.kernel !== 'cpu') && graph.inputs.every((i) => onGpu(i.name));
    let commands: readonly Command[] | undefined;
    // a run that flushes the uniform cache binds buffers destroyed by its end: it is not kept
    const generation = gpu.generation;
    const values = new Map<string, Value>();
    const read = new Map<string, Promise<Tensor | undefined>>();
    const refs = new Map<GPUBuffer, number>();
    const lastUse = new Map<string, number>();
    graph.nodes.forEach((n, i) => {
      for (const v of n.inputs) lastUse.set(v, i);
    });
    const hold = (t: GpuTensor) => {
      if (!this.uploaded.has(t.buffer)) refs.set(t.buffer, (refs.get(t.buffer) ?? 0) + 1);
    };
    const unhold = (t: GpuTensor) => {
      if (this.uploaded.has(t.buffer)) return;
      const left = (refs.get(t.buffer) ?? 1) - 1;
      refs.set(t.buffer, left);
      if (left === 0) gpu.release(t);
    };
    // the outputs of Concats done in place, each made when its first input is recorded into it: the
    // inputs' values hold it from then on, and the Concat's own value after them
    const gathered = new Map<string, GpuTensor>();
    const sliceFor = (q: NodePlan): OutputSlice | undefined => {
      const slot = plan.slots.get(q.node.outputs[0]!);
      if (!slot) return undefined;
      let y = gathered.get(slot.concat);
      if (!y) {
        y = gpu.empty(plan.info.get(slot.concat)!.shape);
        gathered.set(slot.concat, y);
      }
      return { y, channel: slot.channel };
    };
    const setValue = (name: string, v: Value) => {
      values.set(name, v);
      if ('gpu' in v) hold(v.gpu);
    };
    const drop = (name: string) => {
      const v = values.get(name);
      values.delete(name);
      if (!v || !('gpu' in v)) return;
      unhold(v.gpu);
      if (v.f32) unhold(v.f32);
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
    // uploads happen outside recordings, where pooled buffers are safe to reuse
    const place = (name: string, t: Tensor) =>
      setValue(name, toGpu(name, t) ? { gpu: gpu.tensor(t.shape, t.data as Float32Array) } : { host: t });
    try {
      for (const [name, t] of Object.entries(inputs)) place(name, t);
      // each scanned input stays alive until the first GPU segment has recorded its scan
      const scans = graph.inputs
        .filter((i) => onGpu(i.name))
        .map(({ name }) => {
          const x = (values.get(name) as { gpu: GpuTensor }).gpu;
          hold(x);
          return { name, x, first: this.first(name), found: undefined as Promise<number> | undefined };
        });
      let scanned = false;
      let i = 0;
      while (i < graph.nodes.length) {
        const p = plan.nodes[i]!;
        if (p.kernel === 'host') {
          p.node.outputs.forEach((o, k) => {
            if (o !== '') setValue(o, { host: p.outputs[k]!.value! });
          });
          finish(i++);
        } else if (p.kernel === 'cpu') {
          let outs: (Tensor | undefined)[];
          if (hooks?.rehearse)
            outs = p.node.outputs.map((o) => {
              const v = plan.info.get(o);
              return v && zeros(v);
            });
          else {
            const host = await Promise.all(p.node.inputs.map(async (name) => this.toHost(get(name))));
            const t0 = performance.now();
            outs = p.def.run(p.node, host, graph);
            hooks?.cpu?.(i, performance.now() - t0);
          }
          p.node.outputs.forEach((o, k) => {
            if (o !== '' && outs[k]) place(o, outs[k]);
          });
          finish(i++);
        } else {
          const record: Segment = (r, mark) => {
            if (!scanned) {
              for (const c of scans) {
                encodeFirstNonFinite(r, c.x, c.first, this.allFiniteTensor());
                unhold(c.x);
              }
              scanned = true;
            }
            for (let q = plan.nodes[i]; q && q.kernel !== 'cpu'; q = plan.nodes[i]) {
              const from = r.labels.length;
              const outs: Value[] =
                q.kernel === 'host'
                  ? q.outputs.map((o) => ({ host: o.value! }))
                  : q.kernel === IN_PLACE
                    ? [{ gpu: gathered.get(q.node.outputs[0]!)! }]
                    : q.def
                        .gpu!.encode(q.node, this.context(q, r, get, hold, sliceFor(q)), q.outputs)
                        .map((t, k) =>
                          k === 0 && q.outputBits
                            ? {
                                gpu: t,
                                bits: { encoding: q.outputBits, shape: q.outputs[0]!.shape as Shape4 },
                              }
                            : { gpu: t },
                        );
              mark(i, from);
              q.node.outputs.forEach((o, k) => {
                if (o !== '') setValue(o, outs[k]!);
              });
              finish(i++);
            }
            // the last segment copies the outputs and the scans' results out in its own submission
            if (i === graph.nodes.length && !hooks?.rehearse) {
              for (const o of graph.outputs) read.set(o, this.readOut(r, get(o)));
              for (const c of scans) c.found = r.read(c.first).then((b) => new Uint32Array(b)[0]!);
            }
            if (capture) commands = r.commands;
          };
          await (hooks ? hooks.segment(record) : gpu.submit((r) => record(r, () => {})));
        }
      }
      const result: Record<string, Tensor> = {};
      if (hooks?.rehearse) return result;
      for (const c of scans)
        throwIfFound(c.name, inputs, await (c.found ?? this.gpu.readU32(c.first).then((a) => a[0]!)));
      for (const o of graph.outputs) result[o] = (await (read.get(o) ?? this.toHost(get(o))))!;
      if (commands && gpu.generation === generation) {
        let reads = 0;
        const trace = {
          commands,
          // a recorded run has every input on the GPU, each scanned
          inputs: new Map(scans.map((c) => [c.name, c.x.buffer])),
          outputs: graph.outputs.map((o) => {
            const v = get(o)!;
            return 'host' in v ? { host: v.host } : { read: reads++, shape: result[o]!.shape };
          }),
          checks: scans.map(({ name }) => ({ name, read: reads++ })),
          generation,
        };
        // claimed once this run has given its buffers back, before any other work can take them
        commands = undefined;
        for (const name of [...values.keys()]) drop(name);
        this.traces.set(plan, { ...trace, claimed: gpu.pool.claim(traceBuffers(trace)) });
        // each recording keeps its activations out of the pool: only the latest few shapes keep one
        if (this.traces.size > MAX_TRACES) this.dropTrace(this.traces.keys().next().value!);
      }
      return result;
    } finally {
      for (const name of [...values.keys()]) drop(name);
    }
  }

  /** Runs a plan again from its {@link Trace}: the inputs go where they went, the commands are replayed. */
  private async replay(
    trace: Trace,
    inputs: Readonly<Record<string, Tensor>>,
  ): Promise<Record<string, Tensor>> {
    let reads: Promise<ArrayBuffer>[] = [];
    await this.gpu.submit((r) => {
      for (const [name, buffer] of trace.inputs) r.upload(buffer, inputs[name]!.data as Float32Array);
      reads = r.replay(trace.commands);
    });
    const data = await Promise.all(reads);
    for (const c of trace.checks) throwIfFound(c.name, inputs, new Uint32Array(data[c.read]!)[0]!);
    return Object.fromEntries(
      this.graph.outputs.map((o, k) => {
        const out = trace.outputs[k]!;
        return [o, 'host' in out ? out.host : float32(out.shape, new Float32Array(data[out.read]!))];
      }),
    );
  }

  private dropTrace(plan: Plan): void {
    for (const b of this.traces.get(plan)?.claimed ?? []) this.gpu.pool.release(b);
    this.traces.delete(plan);
  }

  private dropTraces(): void {
    for (const plan of [...this.traces.keys()]) this.dropTrace(plan);
  }

  /** What a node's encoder sees: its kernel, inputs, constants and per-node resources. */
  private context(
    p: NodePlan,
    r: Recorder,
    get: (name: string) => Value | undefined,
    hold: (t: GpuTensor) => void = () => {},
    into?: OutputSlice,
  ): EncodeContext {
    let c = this.contexts.get(p);
    if (!c) {
      c = this.makeContext(p);
      this.contexts.set(p, c);
    }
    c.state.r = r;
    c.state.get = get;
    c.state.hold = hold;
    c.state.into = into;
    return c.ctx;
  }

  /** A plan node's encoder context, made once and rebound to each recording (recording is the hot path). */
  private makeContext(p: NodePlan): { ctx: EncodeContext; state: ContextState } {
    const session = this;
    const state: ContextState = {};
    const value = (i: number) => state.get!(p.node.inputs[i] ?? '');
    let memo: { kernel: string; version: number; value: unknown } | undefined;
    const ctx: EncodeContext = {
      get r() {
        return state.r!;
      },
      gpu: this.gpu,
      opset: this.graph.opset,
      mode: this.mode,
      software: this.gpu.software,
      get kernel() {
        return session.kernelOf(p);
      },
      inputs: p.inputs,
      constant: (name) => this.current!.info.get(name)?.value,
      bits: (name) => this.current!.bits.get(name),
      input: (i) => {
        const v = value(i);
        if (!v) throw new Error(`node '${p.node.name}' has no input ${i}`);
        if ('host' in v) return this.upload(v.host);
        if (v.bits && !v.f32) {
          v.f32 = this.unpack(state.r!, v.gpu, v.bits);
          state.hold!(v.f32);
        }
        return v.f32 ?? v.gpu;
      },
      packed: (i) => {
        const v = value(i);
        return v && 'bits' in v && v.bits ? v.gpu : undefined;
      },
      host: (i) => {
        const v = value(i);
        return v && 'host' in v ? v.host : undefined;
      },
      cached: <T extends Resource>(key: string, make: () => T): T => {
        let own = this.resources.get(p.node);
        if (!own) {
          own = new Map();
          this.resources.set(p.node, own);
        }
        let res = own.get(key);
        if (!res) {
          res = make();
          own.set(key, res);
        }
        return res as T;
      },
      planned: <T>(make: () => T): T => {
        // remade when tuning swaps the kernel or frees the node's resources
        const kernel = this.kernelOf(p);
        const version = this.versions.get(p.node) ?? 0;
        if (memo?.kernel !== kernel || memo.version !== version) memo = { kernel, version, value: make() };
        return memo.value as T;
      },
      empty: (shape) => this.gpu.empty(shape),
      get into() {
        return state.into;
      },
    };
    return { ctx, state };
  }

  /** Records the float32 values of bit-packed planes `x` into a fresh tensor. */
  private unpack(r: Recorder, x: GpuTensor, bits: { encoding: PackedEncoding; shape: Shape4 }): GpuTensor {
    const f32 = this.gpu.empty(bits.shape);
    encodeUnpackBits(r, x, f32, bits.shape, bits.encoding);
    return f32;
  }

  /** A constant host tensor on the GPU, uploaded once and kept for the session. */
  /** The buffer the scan of input `name` writes its result to, kept for the session. */
  private first(name: string): GpuTensor {
    let t = this.firsts.get(name);
    if (!t) {
      t = this.gpu.tensor([1], new Uint32Array(1));
      this.firsts.set(name, t);
      this.uploaded.add(t.buffer);
    }
    return t;
  }

  private allFiniteTensor(): GpuTensor {
    if (!this.allFinite) {
      this.allFinite = this.gpu.tensor([1], Uint32Array.of(ALL_FINITE));
      this.uploaded.add(this.allFinite.buffer);
    }
    return this.allFinite;
  }

  private upload(t: Tensor): GpuTensor {
    let u = this.uploads.get(t);
    if (!u) {
      u = this.gpu.tensor(t.shape, Float32Array.from(t.data));
      this.uploads.set(t, u);
      this.uploaded.add(u.buffer);
    }
    return u;
  }

  private async toHost(v: Value | undefined): Promise<Tensor | undefined> {
    if (!v || 'host' in v) return v?.host;
    let t: Promise<Tensor | undefined> | undefined;
    await this.gpu.submit((r) => {
      t = this.readOut(r, v);
    });
    return t;
  }

  /** Records the copy of a value to the host (unpacking packed bits first); it arrives with the submission. */
  private readOut(r: Recorder, v: Value | undefined): Promise<Tensor | undefined> {
    if (!v || 'host' in v) return Promise.resolve(v?.host);
    if (v.bits && !v.f32) {
      const { shape } = v.bits;
      const f32 = this.unpack(r, v.gpu, v.bits);
      const data = r.read(f32);
      this.gpu.release(f32);
      return data.then((d) => float32(shape, new Float32Array(d)));
    }
    const t = v.f32 ?? v.gpu;
    return r.read(t).then((d) => float32(t.shape, new Float32Array(d)));
  }

  /**
   * Measures every candidate kernel of each node that has several (conv and FC layers), at the input
   * shapes the layer sees for `inputs`, and keeps the fastest (cached per adapter, layer and sparsity).
   */
  tune(inputs: Readonly<Record<string, Tensor>>, options: TuneOptions = {}): Promise<PlanEntry[]> {
    return this.enqueue(() => this.tuneNow(inputs, options));
  }

  private async tuneNow(
    inputs: Readonly<Record<string, Tensor>>,
    options: TuneOptions,
  ): Promise<PlanEntry[]> {
    checkInputs(this.graph, inputs);
    const { gpu } = this;
    const plan = this.use(Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, t.shape])));
    // tuning changes kernels: recorded runs no longer match the plan
    this.dropTraces();
    const adapter = `${gpu.adapter.vendor}/${gpu.adapter.architecture}/${gpu.adapter.device}/${gpu.adapter.description}`;
    const targets = plan.nodes.filter((p) => p.candidates && isGpuKernel(p.kernel));
    const iterations = options.iterations ?? 5;
    for (const [done, p] of targets.entries()) {
      const { activation: _, ...attrs } = p.node.attrs;
      const key = `${adapter}|${p.node.op}|${JSON.stringify(p.inputs.map((v) => v?.shape))}|${JSON.stringify(attrs)}|${(p.sparsity ?? 0).toFixed(3)}`;
      const cached = options.cache?.[key];
      type Choice = { kernel: string; times: NonNullable<PlanEntry['tuned']> };
      let choice: Choice | undefined =
        cached !== undefined && p.candidates!.includes(cached)
          ? { kernel: cached, times: 'cache' }
          : undefined;
      if (!choice) {
        const times: Record<string, number> = {};
        // stand-in inputs: GPU values as empty tensors of their shapes, constants as they are
        const scratch = p.node.inputs.map((name, k) =>
          name !== '' && !p.inputs[k]?.value ? gpu.empty(p.inputs[k]!.shape) : undefined,
        );
        const stand = (name: string): Value | undefined => {
          const k = p.node.inputs.indexOf(name);
          const s = scratch[k];
          if (s) return { gpu: s };
          const v = p.inputs[k]?.value;
          return v ? { host: v } : undefined;
        };
        for (const kernel of p.candidates!) {
          this.tuned.set(p.node, { kernel, times: {} });
          this.freeResources(p.node);
          try {
            const once = (r: Recorder) => {
              for (const t of p.def.gpu!.encode(p.node, this.context(p, r, stand), p.outputs)) gpu.release(t);
            };
            await gpu.submit(once);
            const samples: number[] = [];
            for (let k = 0; k < iterations; k++) samples.push((await gpu.profile(once)).ms);
            times[kernel] = samples.sort((a, b) => a - b)[samples.length >> 1]!;
          } catch {
            // a candidate this device cannot run (a buffer over its limits) is simply not chosen
          }
        }
        for (const s of scratch) if (s) gpu.release(s);
        this.freeResources(p.node);
        const best = Object.entries(times).sort((a, b) => a[1] - b[1])[0]?.[0] ?? p.kernel;
        choice = { kernel: best, times };
        if (options.cache) options.cache[key] = best;
      }
      this.tuned.set(p.node, choice);
      this.freeResources(p.node);
      options.onProgress?.(done + 1, targets.length, p.node.name);
    }
    await this.checkWhole(inputs, targets, iterations);
    return this.plan;
  }

  /**
   * Layers timed one at a time can lose together (what stays in cache, how dispatches overlap): the
   * whole plan is timed with the tuned kernels and with the plan's own, and the faster one is kept.
   * The per-layer times stay in the plan either way.
   */
  private async checkWhole(
    inputs: Readonly<Record<string, Tensor>>,
    targets: readonly NodePlan[],
    iterations: number,
  ): Promise<void> {
    const changed = targets.filter((p) => this.tuned.get(p.node)!.kernel !== p.kernel);
    if (changed.length === 0) return;
    const kernels = (pick: (p: NodePlan) => string) => {
      for (const p of changed) {
        this.tuned.set(p.node, { ...this.tuned.get(p.node)!, kernel: pick(p) });
        this.freeResources(p.node);
      }
    };
    const wall = async () => {
      // the first run builds the layers and records the plan for replay; the rest are timed
      await this.runNow(inputs);
      const samples: number[] = [];
      for (let k = 0; k < iterations; k++) {
        const t0 = performance.now();
        await this.runNow(inputs);
        samples.push(performance.now() - t0);
      }
      return samples.sort((a, b) => a - b)[samples.length >> 1]!;
    };
    const tuned = new Map(changed.map((p) => [p, this.tuned.get(p.node)!.kernel]));
    const withTuned = await wall();
    kernels((p) => p.kernel);
    const withOwn = await wall();
    if (withTuned < withOwn) kernels((p) => tuned.get(p)!);
  }

  private freeResources(node: GraphNode): void {
    // replays would bind what is freed here
    this.dropTraces();
    for (const r of this.resources.get(node)?.values() ?? []) r.destroy();
    this.resources.delete(node);
    this.versions.set(node, (this.versions.get(node) ?? 0) + 1);
  }

  /** Frees the uploaded weights (and the device, when this session opened it). */
  destroy(): void {
    this.dropTraces();
    for (const node of [...this.resources.keys()]) this.freeResources(node);
    for (const t of [
      ...this.uploads.values(),
      ...this.firsts.values(),
      ...(this.allFinite ? [this.allFinite] : []),
    ])
      this.gpu.release(t);
    this.uploads.clear();
    this.firsts.clear();
    this.allFinite = undefined;
    this.uploaded.clear();
    if (this.ownsGpu) this.gpu.destroy();
  }
}

/** Every buffer a trace's commands and inputs touch. */
function traceBuffers(trace: Pick<Trace, 'commands' | 'inputs'>): Set<GPUBuffer> {
  const buffers = new Set<GPUBuffer>(trace.inputs.values());
  for (const c of trace.commands) {
    if ('read' in c) buffers.add(c.read.buffer);
    else if ('copy' in c) for (const t of c.copy) buffers.add(t.buffer);
    else for (const b of c.buffers) buffers.add(b);
  }
  return buffers;
}

/** Throws the non-finite input error when a scan of input `name` found element `at` (not {@link ALL_FINITE}). */
function throwIfFound(name: string, inputs: Readonly<Record<string, Tensor>>, at: number): void {
  if (at !== ALL_FINITE) throw nonFiniteInput(name, inputs[name]!, at);
}
