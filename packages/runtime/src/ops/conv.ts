import {
  type Activation,
  applyActivation,
  binaryReference,
  broadcastShape,
  Conv2dLayer,
  type ConvAlgorithm,
  type ConvGeometry,
  chooseConvAlgorithm,
  chooseDenseKernel,
  convGeometry,
  DENSE_KERNELS,
  type DenseKernel,
  denseKernelApplies,
  encodeBinary,
  type GpuTensor,
  gemmTileOf,
  type InputPool,
  inputPoolOf,
  type LowBitRows,
  lowBitRows,
  sparseConvAlgorithm,
  weightSparsity,
} from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, attrNumbers, type GraphNode } from '../graph.js';
import { as2d, shape2d, window2d } from '../shapes.js';
import { asFloat32, float32, type Tensor, tensor } from '../tensor.js';
import { storedCsr } from '../weight-encoding.js';
import { lowBitPlanesOf } from './low-bit-weights.js';
import { poolParams, poolWindow } from './pool-window.js';
import type { GpuOp, OpDef, PlanContext } from './types.js';
import { need } from './util.js';

/** Conv kernels that tuning times against each other; depthwise layers keep their own kernel. */
export const CONV_CANDIDATES = [
  'implicit-gemm',
  'direct-sparse',
  'sparse-tiled',
  'sparse-blocked',
  'sparse-staged',
  'im2col-spmm',
] as const;

/**
 * The candidates for a conv of `geo`: {@link CONV_CANDIDATES}, and the implicit GEMM with each dense
 * kernel that applies named (`implicit-gemm:winograd-4`), since the cost model that picks one by
 * default can lose to another by 2× or more on a given GPU. Neither the named dense kernels nor the
 * staged sparse kernel on a software adapter, where timings say nothing of a GPU and Chromium's
 * SwiftShader lost the device on the larger GEMM tiles and on the staged kernel.
 */
function convCandidates(geo: ConvGeometry, software: boolean): string[] {
  if (software) return CONV_CANDIDATES.filter((c) => c !== 'sparse-staged');
  const dense = DENSE_KERNELS.filter((k) => denseKernelApplies(k, geo));
  return [...CONV_CANDIDATES, ...dense.map((k) => `implicit-gemm:${k}`)];
}

/** The plan's kernel for a conv that runs the tiled implicit GEMM on its weights' bit planes. */
const LOWBIT_KERNEL = 'conv-lowbit';

/** A plan's conv kernel: the algorithm, and the dense kernel where tuning named one. */
function parseConvKernel(kernel: string): { algorithm: ConvAlgorithm; dense?: DenseKernel } {
  if (kernel === LOWBIT_KERNEL) return { algorithm: 'implicit-gemm' };
  const [algorithm, dense] = kernel.split(':') as [ConvAlgorithm, DenseKernel | undefined];
  return dense ? { algorithm, dense } : { algorithm };
}

/**
 * A conv's OIHW weights as bit planes over [O, cg·kh·kw], where every output channel's are ±α or
 * {−α, 0, α} (TWN, BinaryConnect); undefined otherwise, and for weights decoded from a sparse payload,
 * which run from it.
 */
function convLowBit(w: Tensor): LowBitRows | undefined {
  if (w.dtype !== 'float32' || storedCsr(w) || w.shape.length < 3) return undefined;
  return lowBitPlanesOf(w, '', () => lowBitRows(w.data as Float32Array, w.shape[0]!));
}

/** The activation that fusion attached to a Conv or Gemm (the runtime's own attribute, not ONNX's). */
export function fusedActivation(node: GraphNode): Activation {
  return (node.attrs.activation as Activation | undefined) ?? 'none';
}

/**
 * Share of zeros among a weight tensor's values: counted from the CSR it was decoded from where there
 * is one (the same count, without expanding it), else from its values.
 */
export function sparsityOf(w: Tensor): number {
  let s = sparsities.get(w);
  if (s === undefined) {
    const csr = storedCsr(w);
    s = weightSparsity(csr ? { csr } : { weights: w.data as Float32Array });
    sparsities.set(w, s);
  }
  return s;
}

/** Sparsity per weight tensor: each plan (one per input shape) asks again, and counting a large layer takes milliseconds. */
const sparsities = new WeakMap<Tensor, number>();

/** The 2-D geometry (1-D convs as 2-D ones of unit height) and the output shape in the input's rank. */
export function geometry(node: GraphNode, x: readonly number[], w: readonly number[]) {
  if (x.length !== 3 && x.length !== 4)
    throw new RuntimeError(
      'unsupported-op',
      `node '${node.name}' (${node.op}) has a rank-${x.length} input; only 1-D and 2-D convolutions are supported.`,
    );
  const node2d = as2d(node, x.length);
  const w2d = shape2d(w);
  const win = window2d(node2d, shape2d(x), attrNumbers(node2d, 'kernel_shape') ?? w2d.slice(2));
  const geo = convGeometry(shape2d(x), w2d, {
    stride: win.stride,
    pads: win.pads,
    dilation: win.dilation,
    groups: attrNumber(node, 'group', 1),
  });
  const shape = x.length === 3 ? [geo.n, geo.o, geo.wo] : [geo.n, geo.o, geo.ho, geo.wo];
  return { win, geo, w2d, shape };
}

/**
 * A Conv with a fourth input, the residual that fuseResidualAdds took from the Add after it:
 * y = act(conv(x) + b + r), r broadcast against the conv's output as Add does.
 */
function residualOf(node: GraphNode): string | undefined {
  return node.inputs[3] || undefined;
}

/** Direct 2-D convolution, then the fused residual and activation. */
function run(node: GraphNode, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const r = residualOf(node) ? need(node, inputs, 3) : undefined;
  const y = float32(...convolve(node, inputs, r ? 'none' : fusedActivation(node)));
  if (!r) return [y];
  const act = fusedActivation(node);
  const sum = binaryReference(y.data, y.shape, asFloat32(r, 'Conv residual'), r.shape, (a, c) => a + c);
  return [
    tensor(
      'float32',
      sum.shape,
      sum.data.map((v) => applyActivation(v, act)),
    ),
  ];
}

/** Direct 2-D convolution: for each weight, one multiply-add over a whole output row (cache-friendly). */
function convolve(
  node: GraphNode,
  inputs: readonly (Tensor | undefined)[],
  act: Activation,
): [number[], Float32Array] {
  const x = need(node, inputs, 0);
  const w = need(node, inputs, 1);
  const b = inputs[2];
  const { geo, shape } = geometry(node, x.shape, w.shape);
  const xd = asFloat32(x, 'Conv input');
  const wd = asFloat32(w, 'Conv weights');
  const bd = b ? asFloat32(b, 'Conv bias') : undefined;
  const y = new Float32Array(geo.n * geo.o * geo.ho * geo.wo);
  for (let n = 0; n < geo.n; n++) {
    for (let o = 0; o < geo.o; o++) {
      const out = y.subarray((n * geo.o + o) * geo.ho * geo.wo, (n * geo.o + o + 1) * geo.ho * geo.wo);
      out.fill(bd?.[o] ?? 0);
      const grp = Math.floor(o / geo.og);
      for (let c = 0; c < geo.cg; c++) {
        const xc = (n * geo.c + grp * geo.cg + c) * geo.h * geo.w;
        for (let ky = 0; ky < geo.kh; ky++) {
          for (let kx = 0; kx < geo.kw; kx++) {
            const wv = wd[((o * geo.cg + c) * geo.kh + ky) * geo.kw + kx]!;
            if (wv === 0) continue;
            const dx = kx * geo.dw - geo.pl;
            const oxLo = Math.max(0, Math.ceil(-dx / geo.sw));
            const oxHi = Math.min(geo.wo, Math.floor((geo.w - 1 - dx) / geo.sw) + 1);
            for (let oy = 0; oy < geo.ho; oy++) {
              const iy = oy * geo.sh + ky * geo.dh - geo.pt;
              if (iy < 0 || iy >= geo.h) continue;
              const row = xc + iy * geo.w + dx;
              const orow = oy * geo.wo;
              for (let ox = oxLo; ox < oxHi; ox++) out[orow + ox]! += wv * xd[row + ox * geo.sw]!;
            }
          }
        }
      }
      if (act !== 'none') for (let i = 0; i < out.length; i++) out[i] = applyActivation(out[i]!, act);
    }
  }
  return [shape, y];
}

/** The kernel the plan mode picks for constant weights `w`, where the conv reads through `pool` or not. */
function chooseKernel(
  w: Tensor,
  geo: ConvGeometry,
  ctx: PlanContext,
  pool: InputPool | undefined,
): { kernel: ConvAlgorithm; sparsity: number } {
  const sparsity = sparsityOf(w);
  const auto = chooseConvAlgorithm(geo, sparsity, ctx.software, pool);
  const kernel =
    auto === 'depthwise' || ctx.mode === 'auto'
      ? auto
      : ctx.mode === 'dense'
        ? 'implicit-gemm'
        : sparseConvAlgorithm(geo, ctx.software);
  return { kernel, sparsity };
}

/** A node as the GPU runs it: a Conv, and the max or average pool its input goes through first (PoolConv). */
export interface ConvParts {
  readonly conv: GraphNode;
  readonly pool?: GraphNode;
}

/** The input shape the conv itself sees: the pooled map's where it reads through a pool. */
const convInputShape = ({ pool }: ConvParts, x: readonly number[]) => (pool ? poolWindow(pool, x).shape : x);

/**
 * The GPU side of a conv node whose parts `split` gives: a Conv2dLayer (reading through the pool, where
 * there is one), its output written into a Concat's channels where the plan allows, its residual added
 * in its epilogue or, where it broadcasts, by an Add after it.
 */
export function convGpu(split: (node: GraphNode) => ConvParts): GpuOp {
  return {
    plan(node, inputs, ctx) {
      const parts = split(node);
      const w = ctx.constant(node.inputs[1]!);
      const x = inputs[0];
      if (w?.dtype !== 'float32' || x?.dtype !== 'float32' || !(x.shape.length === 3 || x.shape.length === 4))
        return undefined;
      if (parts.pool && x.shape.length !== 4) return undefined;
      if (node.inputs[2] && !ctx.constant(node.inputs[2])) return undefined;
      const r = residualOf(node) ? inputs[3] : undefined;
      if (r && r.dtype !== 'float32') return undefined;
      const { geo, shape } = geometry(parts.conv, convInputShape(parts, x.shape), w.shape);
      const { kernel, sparsity } = chooseKernel(
        w,
        geo,
        ctx,
        parts.pool && inputPoolOf(x.shape, poolSpec(parts.pool, x.shape)),
      );
      // weights of ±α or {−α, 0, α} per channel stay 1 or 2 bits a weight on the GPU where the auto
      // plan runs the tiled GEMM (not where Winograd or the GEMV would run them)
      const bits = kernel !== 'depthwise' && convLowBit(w);
      const lowBit =
        bits &&
        ctx.mode === 'auto' &&
        kernel === 'implicit-gemm' &&
        gemmTileOf(chooseDenseKernel(geo, ctx.software));
      return {
        kernel: lowBit ? LOWBIT_KERNEL : kernel,
        sparsity,
        ...(kernel === 'depthwise'
          ? {}
          : { candidates: [...convCandidates(geo, ctx.software), ...(bits ? [LOWBIT_KERNEL] : [])] }),
        // every conv kernel can write a channel slice, but a broadcast residual is added after the conv
        writesInto: !r || r.shape.join() === shape.join(),
      };
    },
    encode(node, ctx, outputs) {
      const { layer, x2d, shape, direct } = ctx.planned(() => {
        const parts = split(node);
        const c = parts.conv;
        const x = ctx.inputs[0]!.shape;
        const w = ctx.constant(node.inputs[1]!)!;
        const b = node.inputs[2] ? ctx.constant(node.inputs[2]) : undefined;
        const { win, w2d, shape } = geometry(c, convInputShape(parts, x), w.shape);
        // a residual of the conv's own shape is added in its epilogue; one that broadcasts, by an Add after it
        const r = residualOf(node) ? ctx.inputs[3]!.shape : undefined;
        const direct = !r || r.join() === shape.join();
        const activation = direct ? fusedActivation(c) : 'none';
        const kernel = parseConvKernel(ctx.kernel);
        // weights decoded as CSR go to the layer as CSR: a sparse kernel uploads it as it is and a dense
        // one expands it when first recorded, so a conv that runs sparse never makes the dense values
        const csr = storedCsr(w);
        // auto_pad makes the padding depend on the input size, so the layer is kept per padding too
        const inputPool = parts.pool && poolSpec(parts.pool, x);
        const lowBit = ctx.kernel === LOWBIT_KERNEL ? convLowBit(w) : undefined;
        const layer = ctx.cached(
          JSON.stringify({ kernel: ctx.kernel, pads: win.pads, activation, inputPool }),
          () =>
            new Conv2dLayer(ctx.gpu, {
              ...(csr ? { csr } : { weights: asFloat32(w, 'Conv weights') }),
              shape: w2d as [number, number, number, number],
              ...(b ? { bias: asFloat32(b, 'Conv bias') } : {}),
              stride: win.stride,
              pads: win.pads,
              dilation: win.dilation,
              groups: attrNumber(c, 'group', 1),
              activation,
              ...kernel,
              sparsity: sparsityOf(w),
              ...(inputPool ? { inputPool } : {}),
              ...(lowBit ? { lowBit } : {}),
            }),
        );
        return { layer, x2d: shape2d(x), shape, direct };
      });
      const x = { ...ctx.input(0), shape: x2d };
      const { into } = ctx;
      const slice = into && { y: { ...into.y, shape: shape2d(into.y.shape) }, channel: into.channel };
      const out = (y: GpuTensor) => into?.y ?? { ...y, shape };
      if (!residualOf(node)) return [out(layer.encode(ctx.r, x, undefined, slice))];
      const r = ctx.input(3);
      if (direct) return [out(layer.encode(ctx.r, x, { ...r, shape: shape2d(shape) }, slice))];
      const c = layer.encode(ctx.r, x);
      const y = ctx.empty(outputs[0]!.shape);
      encodeBinary(ctx.r, { ...c, shape }, r, y, 'add', fusedActivation(split(node).conv));
      ctx.gpu.release(c);
      return [y];
    },
  };
}

/** A pool node on NCHW `x` as a conv layer's `inputPool`. */
function poolSpec(pool: GraphNode, x: readonly number[]) {
  return { ...poolParams(pool, x), kind: pool.op === 'MaxPool' ? ('max' as const) : ('avg' as const) };
}

export const conv: OpDef = {
  op: 'Conv',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    const { shape } = geometry(node, x.shape, need(node, inputs, 1).shape);
    const r = residualOf(node) && need(node, inputs, 3);
    return [{ shape: r ? broadcastShape(shape, r.shape) : shape, dtype: 'float32' }];
  },
  run,
  gpu: convGpu((node) => ({ conv: node })),
};
