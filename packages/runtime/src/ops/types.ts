import type { Gpu, GpuTensor, PackedEncoding, Recorder } from '@zeroskip/gpu';
import type { GraphNode } from '../graph.js';
import type { DType, Tensor } from '../tensor.js';

/** What is known of a value before running: its shape and dtype, and its contents when they are constant. */
export interface ValueInfo {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Exact contents of constants and of values computed from them and from shapes (Shape, Gather, Concat, …). */
  readonly value?: Tensor;
}

/** A node's output before running: shape and dtype, and its contents when shapes alone decide them (Shape, Size). */
export type OutputInfo = ValueInfo;

export interface OpContext {
  /** The model's ai.onnx opset, after import upgraded older forms. */
  readonly opset: number;
}

/** Kernel choice for convolutions and FC layers: rules (auto), always dense, or always sparse. */
export type PlanMode = 'auto' | 'dense' | 'sparse';

export interface PlanContext extends OpContext {
  readonly mode: PlanMode;
  /** The adapter runs in software (SwiftShader, lavapipe): kernels it cannot run well are not candidates. */
  readonly software: boolean;
  /** A graph initializer (weights, biases, constant parameters). */
  constant(name: string): Tensor | undefined;
  /** How a value planned before this node is held on the GPU when bit-packed (see {@link GpuPlan.outputBits}). */
  bits(name: string): PackedEncoding | undefined;
}

/** The GPU kernel chosen for a node. */
export interface GpuPlan {
  /** Its name in the plan ('implicit-gemm', 'binary', 'view', …). */
  readonly kernel: string;
  readonly sparsity?: number;
  /** Kernels that tuning may time and choose among (the plan's kernel is one of them). */
  readonly candidates?: readonly string[];
  /**
   * Output 0 is kept bit-packed in this encoding (quantized activations between binary layers): readers
   * that plan for it take the packed planes, and every other reader gets the values unpacked to float32.
   */
  readonly outputBits?: PackedEncoding;
  /**
   * `encode` can write output 0 straight into channels of a larger tensor where the executor asks
   * ({@link EncodeContext.into}): a Concat over channels then costs no pass of its own.
   */
  readonly writesInto?: boolean;
}

/** Where a node writes output 0 instead of a tensor of its own: channels [channel, …) of `y`, same rank. */
export interface OutputSlice {
  readonly y: GpuTensor;
  readonly channel: number;
}

export interface EncodeContext extends PlanContext {
  readonly r: Recorder;
  readonly gpu: Gpu;
  /** The kernel the plan holds for this node now (tuning may have replaced the one `plan` chose). */
  readonly kernel: string;
  /** The input shapes and dtypes this run sees. */
  readonly inputs: readonly (ValueInfo | undefined)[];
  /** Input i as a float32 GPU tensor: GPU values as they are, constants uploaded once, other host values uploaded for this run, bit-packed values unpacked. */
  input(i: number): GpuTensor;
  /** Input i's packed planes when it is held bit-packed (its encoding is `bits` of its name), else undefined. */
  packed(i: number): GpuTensor | undefined;
  /** Input i's contents when they are known on the host (constants, shape arithmetic); undefined otherwise. */
  host(i: number): Tensor | undefined;
  /** A per-node resource (a layer, derived parameters on the GPU) made once under `key` and destroyed with the session. */
  cached<T extends { destroy(): void }>(key: string, make: () => T): T;
  /**
   * A value derived from this node's input shapes and kernel (its geometry, a layer from `cached`),
   * made on the first recording of a plan and reused after: recording an inference is the hot path.
   */
  planned<T>(make: () => T): T;
  /** A float32 output tensor of `shape`, from the device's pool. */
  empty(shape: readonly number[]): GpuTensor;
  /**
   * For a node planned with `writesInto`: where output 0 goes, when the executor has placed it in a
   * larger tensor (encode then returns that tensor); undefined otherwise.
   */
  readonly into: OutputSlice | undefined;
}

/** The GPU side of an op. */
export interface GpuOp {
  /**
   * The kernel for this node at these inputs, or undefined when the GPU cannot run it (the node then
   * runs on the CPU, and the plan says 'cpu'). The executor calls `encode` only for planned nodes, so
   * every check `encode` relies on belongs here.
   */
  plan(node: GraphNode, inputs: readonly (ValueInfo | undefined)[], ctx: PlanContext): GpuPlan | undefined;
  /** Records the node; returns its outputs (fresh tensors, or views of an input's buffer with another shape). */
  encode(node: GraphNode, ctx: EncodeContext, outputs: readonly OutputInfo[]): GpuTensor[];
}

/** One ONNX op: attributes and semantics, output shapes, the CPU implementation, and optionally the GPU one. */
export interface OpDef {
  readonly op: string;
  /** Output shapes and dtypes from the inputs' (values are present for constants and shape arithmetic). */
  infer(node: GraphNode, inputs: readonly (ValueInfo | undefined)[], ctx: OpContext): OutputInfo[];
  /** The reference implementation, on host tensors. */
  run(node: GraphNode, inputs: readonly (Tensor | undefined)[], ctx: OpContext): Tensor[];
  readonly gpu?: GpuOp;
}
