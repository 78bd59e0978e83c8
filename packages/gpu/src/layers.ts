import {
  type CsrMatrix,
  convWeightMatrix,
  countNonzeros,
  csrToDense,
  csrToDenseInto,
  denseToCsr,
  validateCsr,
} from '@zeroskip/sparse';
import { type LowBitRows, lowBitRows } from './bit-weights.js';
import type { Gpu } from './device.js';
import { GpuError } from './errors.js';
import { type ConvGeometry, type ConvParams, convGeometry, geometryKey } from './geometry.js';
import {
  chooseDenseKernel,
  type DenseKernel,
  denseConvSeconds,
  denseKernelApplies,
  gemmTileOf,
  winogradBlockOf,
} from './kernels/dense-kernel.js';
import {
  convGemm,
  convTile,
  encodeDepthwiseConv,
  encodeIm2colGemmConv,
  encodeImplicitGemmConv,
  type InputPool,
  inputPoolOf,
} from './kernels/gemm-conv.js';
import { encodeGemvConv, GEMV_MAX_ROWS } from './kernels/gemv.js';
import { encodeLowBitFc, type LowBitWeights, lowBitPlaneCount } from './kernels/lowbit-fc.js';
import { encodePool, type PoolParams } from './kernels/ops.js';
import {
  blockedWeights,
  checkSparseBlocking,
  encodeSparseBlockedConv,
  encodeStripGather,
  type SparseBlocking,
  sparseBlocking,
  stripLayout,
} from './kernels/sparse-blocked-conv.js';
import { encodeDirectSparseConv, encodeIm2colSpmmConv, encodePad } from './kernels/sparse-conv.js';
import { type SparseCostRegime, sparseConvSeconds } from './kernels/sparse-cost.js';
import { encodeSparseFc } from './kernels/sparse-fc.js';
import {
  checkSparseStaging,
  encodeSparseStagedConv,
  type SparseStaging,
  sparseStaging,
  sparseStagingName,
  stagedTileUse,
  stagedWeights,
  stagedWindow,
  stagingFitsAnywhere,
} from './kernels/sparse-staged-conv.js';
import {
  checkSparseTiling,
  encodeSparseTiledConv,
  readsInputAsIs,
  type SparseTiling,
  sparseRowOrder,
  sparseTiling,
  tiledPadGeometry,
} from './kernels/sparse-tiled-conv.js';
import { BYTES_PER_SECOND, type GemmTile } from './kernels/tiled-gemm.js';
import type { ValueSource } from './kernels/values.js';
import {
  DISPATCH_SECONDS,
  encodeWinogradConv,
  type WinogradBlock,
  winogradWeightCount,
  winogradWeights,
} from './kernels/winograd.js';
import type { Recorder } from './recorder.js';
import { codeWidth, packCodes, stretchOffsets } from './sparse-weights.js';
import type { GpuTensor } from './tensor.js';
import { type Activation, checkActivation } from './wgsl.js';

export const CONV_ALGORITHMS = [
  'implicit-gemm',
  'depthwise',
  'im2col-gemm',
  'im2col-spmm',
  'direct-sparse',
  'sparse-tiled',
  'sparse-blocked',
  'sparse-staged',
] as const;
export type ConvAlgorithm = (typeof CONV_ALGORITHMS)[number];

/** Algorithms that run from CSR weights. */
const SPARSE_ALGORITHMS: ReadonlySet<ConvAlgorithm> = new Set([
  'im2col-spmm',
  'direct-sparse',
  'sparse-tiled',
  'sparse-blocked',
  'sparse-staged',
]);

/**
 * Without the input's shape, the sparse kernel is the default from this weight sparsity on: at 0.9 the
 * faster sparse kernel beat the dense one on 75 of the zoo networks' 86 distinct convs at batch 1 and
 * 44 at batch 32 on an H100, at 0.8 on 54 and 12 (apps/bench conv-crossover). With the shape,
 * {@link chooseConvAlgorithm} estimates both instead.
 */
export const SPARSE_CONV_THRESHOLD = 0.9;

/**
 * The dense kernels' estimates (`denseConvSeconds`) are scaled by this before the comparison. They ran
 * 1.27× and 1.37× under the measured times (medians at batch 32 and 1 over the zoo networks' 86
 * distinct convs on an H100, conv-crossover: launch gaps the estimates leave out); scaling by less
 * leaves the sparse kernel a margin for its spread, which kept every network's convs at least as fast
 * as dense at each sparsity from 0.5 to 0.9 where scaling by 1.3 lost up to 1.2%.
 */
const DENSE_ESTIMATE_SCALE = 1.15;

/**
 * Sparse FC (CSR) is the default from this weight sparsity on where the dense side is a GEMM, over more
 * than `GEMV_MAX_ROWS` rows (Fang et al.; on an H100 the tuned plans took CSR from 70% at batch 32).
 */
export const SPARSE_FC_THRESHOLD = 0.6;

/**
 * Sparse FC is the default from this sparsity on where the dense side is the GEMV (up to
 * `GEMV_MAX_ROWS` rows): at batch 1 on an H100 the GEMV beat or tied CSR at 70–77% (the classifiers of
 * ResNet-50 and GoogLeNet, fc8 of AlexNet and VGG-16, which the tuned plans kept dense) and lost from
 * 91% (their fc6 and fc7).
 */
export const SPARSE_GEMV_THRESHOLD = 0.9;

/** Bits CSR spends on each non-zero: an f32 value and a u32 column. */
const CSR_BITS_PER_NONZERO = 64;

/**
 * Low-bit FC is the default up to this many rows. The f32 GEMV reads each weight once for all its
 * rows, while the low-bit kernel decodes each one and is bound by that arithmetic: on an H100 (GPU
 * time, layers of 16.8 M weights and more) it was 1.8–3.0× the GEMV at batch 1 and 2, 1.3–2.2× at 4,
 * and 0.77–0.96× at 8 (apps/bench/results/h100/2026-11-24/lowbit-fc).
 */
export const LOWBIT_MAX_ROWS = 4;

/**
 * Low-bit FC is the default from this many weights on. Smaller layers take 10–15 µs either way on an
 * H100, a dispatch's floor: VGG-16's fc8 (4.1 M weights) ran 0.97–1.05× the f32 GEMV at batch 1, ResNet's
 * classifiers (0.5 M) 0.82–0.87×, fc7 (16.8 M) 1.7–2.3×.
 */
export const LOWBIT_MIN_WEIGHTS = 1 << 23;

/**
 * The default FC algorithm at a weight sparsity, for `rows` input rows where known (else a GEMM's
 * rule). Large layers whose weights are ±α or {−α, 0, α} per row (`lowBit`: their grid and count) run
 * on their bit planes over few rows, where streaming the weights' bytes is the cost, unless CSR reads
 * fewer bytes.
 */
export function chooseFcAlgorithm(
  sparsity: number,
  rows?: number,
  lowBit?: { readonly weights: LowBitWeights; readonly count: number },
): 'dense' | 'sparse' | 'lowbit' {
  const gemv = rows !== undefined && rows <= GEMV_MAX_ROWS;
  if (
    lowBit &&
    lowBitApplies(rows, lowBit.count) &&
    (1 - sparsity) * CSR_BITS_PER_NONZERO > lowBitPlaneCount(lowBit.weights)
  )
    return 'lowbit';
  return sparsity >= (gemv ? SPARSE_GEMV_THRESHOLD : SPARSE_FC_THRESHOLD) ? 'sparse' : 'dense';
}

/** Whether `rows` rows of a layer of `count` weights are where the low-bit kernel can win. */
function lowBitApplies(rows: number | undefined, count: number): boolean {
  return rows !== undefined && rows <= LOWBIT_MAX_ROWS && count >= LOWBIT_MIN_WEIGHTS;
}

/**
 * Below this many images the tiled sparse kernel is the default sparse one. On an H100 at 90% sparsity
 * it won 14 of 17 layers at batch 1 (geomean 1.32× cuDNN dense against direct sparse's 0.90×), while
 * direct sparse, which reuses every weight it loads across up to 4 images per thread, won 13 of 17 at
 * batch 32 (0.89× against 0.57×; apps/bench/results/h100/2026-11-23/sparse-tiled).
 */
export const SPARSE_TILED_MAX_IMAGES = 4;

/**
 * From this output width on the tiled kernel stays the default at any batch: its warps read 32
 * consecutive pixels per load there, and at batch 32 it beat direct sparse on all 4 such layers of the
 * 17 in three H100 runs (VGG-16 conv1_2 3.63 → 2.40 ms, conv2_2 3.17 → 2.16, conv3_2 2.93 → 2.51,
 * ResNet-50 res2a 0.230 → 0.215; apps/bench/results/h100/2026-11-23/sparse-blocked).
 */
export const SPARSE_TILED_MIN_WIDTH = 56;

/**
 * On a batch, the staged kernel is the default sparse one where at least this share of its tiles'
 * pixels lie on the map (`stagedTileUse`). At batch 32 and 90% on an H100 it beat the kernel it
 * replaces on all 12 such layers of the 17 (VGG-16 conv1_2 2.40 → 1.29 ms, conv4_2 2.70 → 1.51,
 * ResNet-50 res3a 0.201 → 0.112, AlexNet conv2 0.286 → 0.201 at 81%), and lost 4 of the 5 below it,
 * whose 13 and 7 columns fill their tiles to 75–77% (apps/bench/results/h100/2026-11-24/sparse-staged
 * and staged-unroll).
 */
export const STAGED_MIN_TILE_USE = 0.8;

/**
 * On a batch, 1×1 convs of stride 1 run tiled from this output width on, and direct sparse below it,
 * rather than staged: a 1×1 window gives each staged value one tap per channel, so the staging costs
 * as much as the taps. At batch 32 and 90% on an H100 the tiled kernel beat the staged one on all 33
 * such convs of GoogLeNet and ResNet-50 on maps of 14 columns or more (GoogLeNet 480×14×14 → 16: 0.014
 * against 0.038 ms; ResNet-50 1024×14×14 → 256: 0.093 against 0.136). On 7 columns ResNet-50's ran
 * faster direct (512×7×7 → 2048: 0.098 against 0.166 ms tiled), and tiling them too left its convs 4%
 * slower than dense at 80% (apps/bench/results/h100/2026-11-24/staged-unroll).
 */
export const POINTWISE_TILED_MIN_WIDTH = 14;

/**
 * The default choice for a conv: depthwise for one input channel per group; else the sparse kernel of
 * {@link sparseConvAlgorithm} where its estimate at the weights' sparsity is below the dense kernels'
 * (`denseConvSeconds` × `DENSE_ESTIMATE_SCALE`), else implicit GEMM. The crossover
 * depends on the shape: a batch-1 1×1 conv on a 14×14 map runs faster sparse from 50% on an H100,
 * where a 3×3 conv that Winograd runs at batch 32 needs 90% or more.
 */
export function chooseConvAlgorithm(
  geo: ConvGeometry,
  sparsity: number,
  software = false,
  pool?: InputPool,
): ConvAlgorithm {
  if (geo.cg === 1 && geo.groups > 1) return 'depthwise';
  const sparse = sparseConvAlgorithm(geo, software);
  // a conv that reads its input through `pool` (geo is then the pooled map's) saves the pool pass a
  // sparse kernel needs where the dense kernel pools in its loader
  const tile = gemmTileOf(chooseDenseKernel(geo, software));
  const poolPass = pool && tile && poolsInLoader(geo, pool, tile) ? poolPassSeconds(geo, pool) : 0;
  return sparseConvSeconds(geo, 1 - sparsity, costRegime(geo, sparse)) + poolPass <
    DENSE_ESTIMATE_SCALE * denseConvSeconds(geo)
    ? sparse
    : 'implicit-gemm';
}

/**
 * Seconds one more tap of a pool read in the GEMM's loader adds to each k step of a thread. Measured
 * on an H100 (apps/bench/results/h100/2026-11-25/pool-conv): 0.13–0.22 µs per step and extra tap on
 * the GEMMs of batch-1 pool projections, which wait on their loads; a full batch-32 GEMM hid most of it.
 */
const POOLED_TAP_SECONDS = 1.6e-7;

/** A pool pass before a conv: a dispatch, and every tap of every pooled value read. */
const poolPassSeconds = (geo: ConvGeometry, pool: InputPool) =>
  DISPATCH_SECONDS + (4 * pool.window.kh * pool.window.kw * geo.n * geo.c * geo.h * geo.w) / BYTES_PER_SECOND;

/**
 * Whether the tiled implicit GEMM with `tile` should pool its input while loading: where the taps it
 * adds to each k step of a thread cost less than a pool pass. At batch 1, GoogLeNet's pool projections
 * (16 to 26 steps of 9 taps) ran 10–35 µs slower pooling while loading, Bi-Real's 2×2 shortcuts and
 * the stems' first reductions (2 to 4 steps) faster.
 */
export function poolsInLoader(geo: ConvGeometry, pool: InputPool, tile: GemmTile): boolean {
  const { shape, splits } = convGemm(geo, tile);
  const steps = Math.ceil(shape.k / splits / (tile.bk * (tile.kg ?? 1)));
  const taps = pool.window.kh * pool.window.kw;
  return (taps - 1) * steps * POOLED_TAP_SECONDS < poolPassSeconds(geo, pool);
}

const isPointwise = (geo: ConvGeometry) => geo.kh === 1 && geo.kw === 1 && geo.sh === 1 && geo.sw === 1;

/** The fitted cost of the sparse kernel `sparseConvAlgorithm` chose for `geo`. */
function costRegime(geo: ConvGeometry, sparse: ConvAlgorithm): SparseCostRegime {
  if (geo.n < SPARSE_TILED_MAX_IMAGES) return 'few-images';
  if (sparse === 'sparse-staged') return 'staged';
  return sparse === 'sparse-tiled' && isPointwise(geo) ? 'pointwise' : 'batched';
}

/**
 * The sparse kernel for a conv of `geo` (none: the batch-1 choice): tiled below
 * {@link SPARSE_TILED_MAX_IMAGES} images. On a batch, 1×1 convs of stride 1 run tiled from
 * {@link POINTWISE_TILED_MIN_WIDTH} columns on, else direct sparse; other convs with a kernel window run
 * staged where its tiles fit the map ({@link STAGED_MIN_TILE_USE}) and its window fits any adapter's
 * workgroup memory (`stagingFitsAnywhere`); the rest tiled from {@link SPARSE_TILED_MIN_WIDTH} columns
 * on, else direct sparse. Never staged on a `software` adapter: Chromium's SwiftShader lost the device
 * running it.
 */
export function sparseConvAlgorithm(geo?: ConvGeometry, software = false): ConvAlgorithm {
  if (!geo || geo.n < SPARSE_TILED_MAX_IMAGES) return 'sparse-tiled';
  if (isPointwise(geo)) return geo.wo >= POINTWISE_TILED_MIN_WIDTH ? 'sparse-tiled' : 'direct-sparse';
  const window = geo.kh * geo.kw > 1;
  if (window && !software && stagedTileUse(geo) >= STAGED_MIN_TILE_USE && stagingFitsAnywhere(geo))
    return 'sparse-staged';
  return geo.wo >= SPARSE_TILED_MIN_WIDTH ? 'sparse-tiled' : 'direct-sparse';
}

/** Shared weights: every non-zero weight is codebook[index]; indices of pruned weights are −1. */
export interface SharedWeights {
  readonly codebook: Float32Array;
  readonly indices: Int32Array;
}

export interface Conv2dSpec extends ConvParams {
  /** OIHW weights (pruned weights exactly 0); may be left out where `csr` is given. */
  readonly weights?: Float32Array;
  /**
   * The same weights as CSR [o, cg·kh·kw] (the matrix `convWeightMatrix` views), where the caller has
   * them already (decoded from a sparse file): sparse kernels upload them as they are, and dense ones
   * expand them only when first recorded, so a layer that runs sparse never holds dense weights.
   */
  readonly csr?: CsrMatrix;
  readonly shape: readonly [number, number, number, number];
  readonly bias?: Float32Array;
  readonly activation?: Activation;
  /**
   * Kernel choice; `auto` (default) applies {@link chooseConvAlgorithm} at `input`'s shape where given,
   * else the sparse kernel from {@link SPARSE_CONV_THRESHOLD} on.
   */
  readonly algorithm?: ConvAlgorithm | 'auto';
  /** The input shape [n, c, h, w] the layer is planned for, where `auto` should estimate at it. */
  readonly input?: readonly number[];
  /** Execute the sparse kernels from codebook indices instead of f32 values. */
  readonly shared?: SharedWeights;
  /** The `sparse-tiled` kernel's tiling; default: `sparseTiling` of the layer's geometry. */
  readonly tiling?: SparseTiling;
  /** The `sparse-blocked` kernel's blocking; default: `sparseBlocking` of the layer's geometry. */
  readonly blocking?: SparseBlocking;
  /** The `sparse-staged` kernel's staging; default: `sparseStaging` of the layer's geometry. */
  readonly staging?: SparseStaging;
  /** The `implicit-gemm` algorithm's kernel; default: `chooseDenseKernel` of the layer's geometry. */
  readonly dense?: DenseKernel;
  /** Share of zeros among the weights where the caller has counted them already; counted otherwise. */
  readonly sparsity?: number;
  /**
   * A max or average pool the layer reads its input through (a PoolConv): `encode` and `geometry`
   * take the unpooled input. The tiled implicit GEMM pools each window as it loads; any other kernel
   * runs a pool pass first.
   */
  readonly inputPool?: { readonly kind: 'max' | 'avg' } & PoolParams;
  /**
   * The weights as bit planes over [O, cg·kh·kw] (`lowBitRows` of the OIHW weights and O): the
   * `implicit-gemm` algorithm then runs the tiled GEMM on them, 1 or 2 bits a weight on the GPU
   * instead of 32 (TWN and BinaryConnect-style layers that keep float activations).
   */
  readonly lowBit?: LowBitRows;
}

/**
 * The spec's sparsity, checked, or the share of zeros counted in its CSR, else in its dense weights
 * (0 for no weights at all).
 */
export function weightSparsity(spec: {
  readonly weights?: Float32Array;
  readonly csr?: CsrMatrix;
  readonly sparsity?: number;
}): number {
  const { sparsity, csr, weights } = spec;
  if (sparsity !== undefined) return checkedSparsity(sparsity);
  const [nonzeros, cells] = csr
    ? [csr.values.length, csr.rows * csr.cols]
    : [countNonzeros(weights!), weights!.length];
  return cells === 0 ? 0 : 1 - nonzeros / cells;
}

function checkedSparsity(sparsity: number): number {
  if (!(sparsity >= 0 && sparsity <= 1))
    throw new GpuError('invalid-argument', `weight sparsity must be within [0, 1], got ${sparsity}.`);
  return sparsity;
}

/** Checks that channels [channel, channel + o) of `into.y` can hold an output of `shape` [n, o, ho, wo]. */
function checkSlice(into: { y: GpuTensor; channel: number }, shape: readonly number[]): void {
  const [n, o, ho, wo] = shape;
  const [yn, yc, yh, yw] = into.y.shape;
  const { channel } = into;
  if (
    into.y.shape.length !== 4 ||
    yn !== n ||
    yh !== ho ||
    yw !== wo ||
    !Number.isInteger(channel) ||
    channel < 0 ||
    channel + o! > yc!
  )
    throw new GpuError(
      'invalid-argument',
      `a conv output [${shape.join(', ')}] does not fit at channel ${channel} of [${into.y.shape.join(', ')}]; the tensor needs the same images and map size and room for its ${o} channels.`,
    );
}

/** Sparse weights on the GPU: CSR row pointers, column indices and f32 values or packed codebook indices. */
interface SparseUpload {
  readonly csr: CsrMatrix;
  readonly rowPtr: GpuTensor;
  readonly colIdx: GpuTensor;
  readonly values: readonly GpuTensor[];
  readonly source: ValueSource;
}

function uploadSparse(gpu: Gpu, csr: CsrMatrix, shared: SharedWeights | undefined): SparseUpload {
  const rowPtr = gpu.tensor([csr.rowPtr.length], csr.rowPtr);
  const colIdx = gpu.tensor([csr.colIdx.length], csr.colIdx);
  if (!shared)
    return {
      csr,
      rowPtr,
      colIdx,
      values: [gpu.tensor([csr.values.length], csr.values)],
      source: { kind: 'f32' },
    };
  const codes = shared.indices.filter((i) => i >= 0);
  if (codes.length !== csr.values.length) {
    throw new GpuError(
      'invalid-argument',
      `${codes.length} codebook indices for ${csr.values.length} non-zero weights; they must match.`,
    );
  }
  const bits = codeWidth(shared.codebook.length);
  const packed = packCodes(codes, bits);
  return {
    csr,
    rowPtr,
    colIdx,
    values: [gpu.tensor([packed.length], packed), gpu.tensor([shared.codebook.length], shared.codebook)],
    source: { kind: 'codebook', size: shared.codebook.length, bits },
  };
}

/** A convolution whose weights live on the GPU; `encode` records it for any input of the right channels. */
export class Conv2dLayer {
  readonly algorithm: ConvAlgorithm;
  readonly sparsity: number;
  readonly activation: Activation;
  /** OIHW weights on the GPU, uploaded on first use: layers that run as Winograd need only its transform. */
  private w: GpuTensor | undefined;
  /** The spec's dense weights, or its CSR expanded when a dense kernel first needs them. */
  private expanded: Float32Array | undefined;
  private readonly sparse: SparseUpload | undefined;
  /** Output channels by decreasing non-zeros (within each group for `sparse-staged`). */
  private readonly order: GpuTensor | undefined;
  private readonly bias: GpuTensor;
  private readonly offsets = new Map<string, GpuTensor>();
  private readonly winograd = new Map<WinogradBlock, GpuTensor>();
  /** `blockedWeights` on the GPU per rows of a block: [ptr, entries]. */
  private readonly blocked = new Map<number, readonly [GpuTensor, GpuTensor]>();
  /** `stagedWeights` on the GPU per input size and staging: [passPtr, offsets]. */
  private readonly staged = new Map<string, readonly [GpuTensor, GpuTensor]>();
  private readonly owned: GpuTensor[] = [];
  private readonly lowBit:
    | { readonly weights: LowBitWeights; readonly planes: GpuTensor; readonly alpha: GpuTensor }
    | undefined;

  constructor(
    private readonly gpu: Gpu,
    private readonly spec: Conv2dSpec,
  ) {
    const [o, cg, kh, kw] = spec.shape;
    const { weights, csr } = spec;
    if (weights && weights.length !== o * cg * kh * kw)
      throw new GpuError(
        'invalid-argument',
        `conv weights [${spec.shape.join(', ')}] need ${o * cg * kh * kw} values, got ${weights.length}.`,
      );
    if (csr) {
      validateCsr(csr);
      if (csr.rows !== o || csr.cols !== cg * kh * kw)
        throw new GpuError(
          'invalid-argument',
          `conv weights in CSR are ${csr.rows} × ${csr.cols}, but weights [${spec.shape.join(', ')}] need ${o} × ${cg * kh * kw}.`,
        );
    } else if (!weights)
      throw new GpuError('invalid-argument', 'a conv layer needs its weights, dense or as CSR; pass one.');
    this.activation = spec.activation ?? 'none';
    checkActivation(this.activation);
    this.sparsity = weightSparsity(spec);
    const choice = spec.algorithm ?? 'auto';
    this.algorithm = choice === 'auto' ? this.autoAlgorithm(spec.input) : choice;
    if (this.algorithm === 'depthwise' && cg !== 1)
      throw new GpuError(
        'invalid-argument',
        `the depthwise kernel needs one input channel per group, these weights have ${cg}.`,
      );
    if (spec.tiling) checkSparseTiling(spec.tiling);
    if (spec.blocking) checkSparseBlocking(spec.blocking);
    if (spec.staging) checkSparseStaging(spec.staging);
    if (spec.lowBit) {
      const { weights: bits, planes, alpha } = spec.lowBit;
      const words = lowBitPlaneCount(bits) * o * Math.ceil((cg * kh * kw) / 32);
      if (this.algorithm !== 'implicit-gemm' || planes.length !== words || alpha.length !== o)
        throw new GpuError(
          'invalid-argument',
          `${bits} bit planes of ${planes.length} words and ${alpha.length} α for weights [${spec.shape.join(', ')}] need ${words} words, ${o} α and the implicit-gemm algorithm (got ${this.algorithm}); make them with lowBitRows.`,
        );
    }
    this.bias = this.own(gpu.tensor([o], spec.bias ?? new Float32Array(o)));
    this.lowBit = spec.lowBit && {
      weights: spec.lowBit.weights,
      planes: this.own(gpu.tensor([spec.lowBit.planes.length], spec.lowBit.planes)),
      alpha: this.own(gpu.tensor([o], spec.lowBit.alpha)),
    };
    if (SPARSE_ALGORITHMS.has(this.algorithm)) {
      this.sparse = uploadSparse(gpu, csr ?? denseToCsr(convWeightMatrix(weights!, spec.shape)), spec.shared);
      this.owned.push(this.sparse.rowPtr, this.sparse.colIdx, ...this.sparse.values);
      // the staged kernel's workgroups take rows of one group
      if (this.algorithm === 'sparse-tiled' || this.algorithm === 'sparse-staged') {
        const groups = this.algorithm === 'sparse-staged' ? (spec.groups ?? 1) : 1;
        const order = sparseRowOrder(this.sparse.csr, groups);
        this.order = this.own(gpu.tensor([order.length], order));
      }
    }
  }

  /** {@link chooseConvAlgorithm} at the planned input's shape; without one, by sparsity alone. */
  private autoAlgorithm(input: readonly number[] | undefined): ConvAlgorithm {
    const [, cg] = this.spec.shape;
    const groups = this.spec.groups ?? 1;
    if (input)
      return chooseConvAlgorithm(
        this.geometry(input),
        this.sparsity,
        this.gpu.software,
        this.inputPool(input),
      );
    if (cg === 1 && groups > 1) return 'depthwise';
    return this.sparsity < SPARSE_CONV_THRESHOLD ? 'implicit-gemm' : sparseConvAlgorithm();
  }

  private own(t: GpuTensor): GpuTensor {
    this.owned.push(t);
    return t;
  }

  /** The geometry for an input shape [n, c, h, w]: of the pooled map where the layer reads through a pool. */
  geometry(input: readonly number[]): ConvGeometry {
    const pool = this.inputPool(input);
    const [n, c] = input as [number, number];
    return convGeometry(pool ? [n, c, pool.ho, pool.wo] : input, this.spec.shape, this.spec);
  }

  private inputPool(input: readonly number[]): InputPool | undefined {
    const pool = this.spec.inputPool;
    if (pool && input.length !== 4)
      throw new GpuError(
        'invalid-argument',
        `a conv reading through a 2-D pool takes an NCHW input [n, c, h, w], got [${input.join(', ')}].`,
      );
    return pool && inputPoolOf(input, pool);
  }

  /**
   * Whether the layer's kernel pools its input while loading it: the tiled implicit GEMM where
   * {@link poolsInLoader} says so; else a pool pass runs first.
   */
  poolsWhileLoading(input: readonly number[]): boolean {
    const pool = this.inputPool(input);
    return pool !== undefined && this.loadsThroughPool(this.geometry(input), pool);
  }

  /** {@link poolsWhileLoading} for a geometry and pool already worked out (encode has both). */
  private loadsThroughPool(geo: ConvGeometry, pool: InputPool): boolean {
    if (this.algorithm !== 'implicit-gemm') return false;
    const tile = this.gemmTileFor(geo);
    return tile !== undefined && poolsInLoader(geo, pool, tile);
  }

  /** The tiled GEMM's tile where the layer runs it: its dense kernel's, or on low-bit weights the cost model's. */
  private gemmTileFor(geo: ConvGeometry): GemmTile | undefined {
    const tile = gemmTileOf(this.denseKernelFor(geo));
    return this.lowBit ? (tile ?? convTile(geo, this.gpu.software)) : tile;
  }

  /**
   * Records the convolution of `input` (pooled first where the layer reads through a pool), plus `res` (a tensor of the output's shape: a ResNet shortcut)
   * before the activation where given, into a new tensor from the pool, or into channels
   * [channel, channel + o) of `into.y` (a Concat's output, written in place); returns the output
   * tensor and releases its scratch.
   */
  encode(
    r: Recorder,
    input: GpuTensor,
    res?: GpuTensor,
    into?: { y: GpuTensor; channel: number },
  ): GpuTensor {
    const geo = this.geometry(input.shape);
    const shape = [geo.n, geo.o, geo.ho, geo.wo];
    if (res && res.shape.join() !== shape.join())
      throw new GpuError(
        'invalid-argument',
        `a conv's residual must have its output's shape [${shape.join(', ')}], got [${res.shape.join(', ')}].`,
      );
    if (into) checkSlice(into, shape);
    const y = into?.y ?? this.gpu.empty(shape);
    const channel = into?.channel;
    const scratch: GpuTensor[] = [];
    const act = this.activation;
    const pool = this.inputPool(input.shape);
    const fusedPool = pool && this.loadsThroughPool(geo, pool) ? pool : undefined;
    let x = input;
    if (pool && !fusedPool) {
      x = this.gpu.empty([geo.n, geo.c, geo.h, geo.w]);
      scratch.push(x);
      encodePool(r, input, x, pool.kind, this.spec.inputPool!);
    }
    switch (this.algorithm) {
      case 'implicit-gemm': {
        const kernel = this.denseKernelFor(geo);
        const block = winogradBlockOf(kernel);
        const out = { bias: this.bias, y, res, channel };
        const pooled = fusedPool ? { pool: fusedPool } : {};
        if (this.lowBit) {
          const { planes, alpha, weights } = this.lowBit;
          encodeImplicitGemmConv(r, { x, w: planes, alpha, ...out }, geo, act, {
            tile: this.gemmTileFor(geo)!,
            ...pooled,
            lowBit: weights,
          });
        } else if (block) encodeWinogradConv(r, { x, u: this.winogradFor(block), ...out }, geo, act, block);
        else if (kernel === 'gemv') encodeGemvConv(r, { x, w: this.dense(), ...out }, geo, act);
        else
          encodeImplicitGemmConv(r, { x, w: this.dense(), ...out }, geo, act, {
            tile: gemmTileOf(kernel)!,
            ...pooled,
          });
        break;
      }
      case 'depthwise':
        encodeDepthwiseConv(r, { x, w: this.dense(), bias: this.bias, y, res, channel }, geo, act);
        break;
      case 'im2col-gemm': {
        const cols = this.gpu.empty([geo.groups * geo.k * geo.n * geo.ho * geo.wo]);
        scratch.push(cols);
        encodeIm2colGemmConv(r, { x, w: this.dense(), bias: this.bias, y, res, channel }, cols, geo, act);
        break;
      }
      case 'im2col-spmm': {
        const s = this.sparse!;
        const cols = this.gpu.empty([geo.groups * geo.k * geo.n * geo.ho * geo.wo]);
        scratch.push(cols);
        encodeIm2colSpmmConv(
          r,
          { x, rowPtr: s.rowPtr, colIdx: s.colIdx, values: s.values, bias: this.bias, y, res, channel },
          cols,
          geo,
          s.source,
          act,
        );
        break;
      }
      case 'direct-sparse': {
        const s = this.sparse!;
        const xp = this.padded(r, x, geo, scratch);
        encodeDirectSparseConv(
          r,
          {
            xp,
            rowPtr: s.rowPtr,
            offsets: this.offsetsFor(geo, s.csr),
            values: s.values,
            bias: this.bias,
            y,
            res,
            channel,
          },
          geo,
          s.source,
          act,
        );
        break;
      }
      case 'sparse-tiled': {
        const s = this.sparse!;
        const tiling = this.tilingFor(geo);
        const pad = tiledPadGeometry(geo, tiling);
        const xp = readsInputAsIs(geo) ? x : this.padded(r, x, pad, scratch);
        encodeSparseTiledConv(
          r,
          {
            xp,
            rowPtr: s.rowPtr,
            order: this.order!,
            offsets: this.offsetsFor(pad, s.csr),
            values: s.values,
            bias: this.bias,
            y,
            res,
            channel,
          },
          geo,
          s.source,
          act,
          tiling,
        );
        break;
      }
      case 'sparse-blocked': {
        const blocking = this.blockingFor(geo);
        const xs = this.gpu.empty([stripLayout(geo, blocking).size]);
        scratch.push(xs);
        encodeStripGather(r, x, xs, geo, blocking.px);
        const [ptr, entries] = this.blockedFor(geo, blocking.rows);
        encodeSparseBlockedConv(
          r,
          { xs, ptr, entries, bias: this.bias, y, res, channel },
          geo,
          act,
          blocking,
        );
        break;
      }
      case 'sparse-staged': {
        const s = this.sparse!;
        const staging = this.stagingFor(geo);
        const [passPtr, offsets] = this.stagedFor(geo, staging);
        encodeSparseStagedConv(
          r,
          { x, passPtr, order: this.order!, offsets, values: s.values, bias: this.bias, y, res, channel },
          geo,
          s.source,
          act,
          staging,
        );
        break;
      }
    }
    // Scratch goes back to the pool now: later work in the queue runs after this layer's dispatches.
    for (const t of scratch) this.gpu.release(t);
    return y;
  }

  /** The `sparse-blocked` kernel's blocking for a geometry: the spec's, else the default rule's. */
  blockingFor(geo: ConvGeometry): SparseBlocking {
    return this.spec.blocking ?? sparseBlocking(geo);
  }

  /** Non-zeros regrouped by row blocks depend only on the rows per block, so they are made once each. */
  private blockedFor(geo: ConvGeometry, rows: number): readonly [GpuTensor, GpuTensor] {
    let t = this.blocked.get(rows);
    if (!t) {
      const w = blockedWeights(this.sparse!.csr, geo, rows);
      t = [
        this.own(this.gpu.tensor([w.ptr.length], w.ptr)),
        this.own(this.gpu.tensor([w.entries.length / 2, 2], w.entries)),
      ];
      this.blocked.set(rows, t);
    }
    return t;
  }

  /** The `implicit-gemm` algorithm's kernel for a geometry: the spec's, else the cost model's. */
  denseKernelFor(geo: ConvGeometry): DenseKernel {
    const kernel = this.spec.dense ?? chooseDenseKernel(geo, this.gpu.software);
    if (!denseKernelApplies(kernel, geo))
      throw new GpuError(
        'invalid-argument',
        `the dense kernel ${kernel} cannot run a ${geo.kh}×${geo.kw} conv of stride ${geo.sh}×${geo.sw} on ${geo.n}×${geo.c}×${geo.h}×${geo.w}; leave the layer's dense kernel to the default.`,
      );
    return kernel;
  }

  /** The `sparse-staged` kernel's staging for a geometry: the spec's, else the default rule's. */
  stagingFor(geo: ConvGeometry): SparseStaging {
    const source = this.sparse?.source;
    return (
      this.spec.staging ??
      sparseStaging(geo, source?.kind === 'codebook' ? source.size * 4 : 0, this.gpu.limits)
    );
  }

  /** Pass pointers and window offsets depend on the input size and the staging, so they are made once each. */
  private stagedFor(geo: ConvGeometry, staging: SparseStaging): readonly [GpuTensor, GpuTensor] {
    const key = `${geometryKey({ ...geo, n: 1 })} ${sparseStagingName(staging)}`;
    let t = this.staged.get(key);
    if (!t) {
      const w = stagedWeights(this.sparse!.csr, geo, stagedWindow(geo, staging));
      t = [
        this.own(this.gpu.tensor([w.passPtr.length], w.passPtr)),
        this.own(this.gpu.tensor([w.offsets.length], w.offsets)),
      ];
      this.staged.set(key, t);
    }
    return t;
  }

  /** The `sparse-tiled` kernel's tiling for a geometry: the spec's, else the default rule's. */
  tilingFor(geo: ConvGeometry): SparseTiling {
    const csr = this.sparse?.csr;
    return this.spec.tiling ?? sparseTiling(geo, csr ? csr.values.length / csr.rows : 0);
  }

  /** Records `x` zero-padded as `pad` says into a scratch tensor. */
  private padded(r: Recorder, x: GpuTensor, pad: ConvGeometry, scratch: GpuTensor[]): GpuTensor {
    const xp = this.gpu.empty([pad.n, pad.c, pad.h + pad.pt + pad.pb, pad.w + pad.pl + pad.pr]);
    scratch.push(xp);
    encodePad(r, x, xp, pad);
    return xp;
  }

  /**
   * Stretched offsets depend on the padded input width, so they are made once per input size (and
   * right padding: the tiled kernel pads wider).
   */
  private offsetsFor(geo: ConvGeometry, csr: CsrMatrix): GpuTensor {
    const key = geometryKey({ ...geo, n: 1 });
    let t = this.offsets.get(key);
    if (!t) {
      t = this.own(this.gpu.tensor([csr.colIdx.length], stretchOffsets(csr, geo)));
      this.offsets.set(key, t);
    }
    return t;
  }

  /** The OIHW weights (CSR rows are output channels, columns OIHW's inner three axes: the same order). */
  private denseWeights(): Float32Array {
    this.expanded ??= this.spec.weights ?? csrToDense(this.spec.csr!).data;
    return this.expanded;
  }

  /**
   * The OIHW weights on the GPU. Weights held only as CSR are expanded straight into the buffer's
   * mapped memory: ResNet-50's 1×1 convs never make a dense copy on the CPU.
   */
  private dense(): GpuTensor {
    const { shape, weights, csr } = this.spec;
    // weights held dense (given, or expanded for Winograd) upload as they are
    this.w ??= this.own(
      (this.expanded ?? weights)
        ? this.gpu.tensor([...shape], this.denseWeights())
        : this.gpu.tensorFilled([...shape], (view) => csrToDenseInto(csr!, view)),
    );
    return this.w;
  }

  /** Winograd-transformed weights depend only on the block size, so they are made once per block. */
  private winogradFor(block: WinogradBlock): GpuTensor {
    let t = this.winograd.get(block);
    if (!t) {
      const { shape, groups = 1 } = this.spec;
      const weights = this.denseWeights();
      // the transform is written straight into the buffer's mapped memory: VGG-16's is 235 MB
      t = this.own(
        this.gpu.tensorFilled([winogradWeightCount(shape, block)], (u) =>
          winogradWeights(weights, shape, groups, block, u),
        ),
      );
      this.winograd.set(block, t);
    }
    return t;
  }

  destroy(): void {
    for (const t of this.owned) this.gpu.release(t);
    this.owned.length = 0;
    this.offsets.clear();
    this.winograd.clear();
    this.blocked.clear();
    this.staged.clear();
    this.w = undefined;
    this.expanded = undefined;
  }
}

export interface FcSpec {
  /** [outputs, inputs] row-major (ONNX Gemm with transB = 1); may be left out where `csr` is given. */
  readonly weights?: Float32Array;
  /**
   * The same weights as CSR [outputs, inputs], where the caller has them already (decoded from a
   * sparse file): the sparse kernel uploads them as they are instead of scanning `weights`.
   */
  readonly csr?: CsrMatrix;
  readonly outputs: number;
  readonly bias?: Float32Array;
  readonly activation?: Activation;
  /**
   * `auto` (default): {@link chooseFcAlgorithm} at `rows` (low-bit weights on their bit planes over few
   * rows; else sparse from 0.9 over few rows, else from 0.6). `lowbit` needs ±α or {−α, 0, α} rows.
   */
  readonly algorithm?: 'dense' | 'sparse' | 'lowbit' | 'auto';
  /** `weights` as bit planes ({@link lowBitRows}), where the caller has found them already. */
  readonly lowBit?: LowBitRows;
  /** The input rows (batch) the layer is planned for, where `auto` should choose for them. */
  readonly rows?: number;
  readonly shared?: SharedWeights;
  /** Share of zeros among the weights where the caller has counted them already; counted otherwise. */
  readonly sparsity?: number;
}

/**
 * A fully-connected layer: a dense GEMM (a 1×1 conv on [batch, inputs, 1, 1]), CSR SpMV/SpMM, or the
 * low-bit GEMV on ±α / {−α, 0, α} weights kept as bit planes.
 */
export class FcLayer {
  readonly algorithm: 'dense' | 'sparse' | 'lowbit';
  readonly inputs: number;
  private readonly conv: Conv2dLayer | undefined;
  private readonly sparse: SparseUpload | undefined;
  private readonly lowBit:
    | { readonly weights: LowBitWeights; readonly planes: GpuTensor; readonly alpha: GpuTensor }
    | undefined;
  private readonly bias: GpuTensor | undefined;

  constructor(
    private readonly gpu: Gpu,
    private readonly spec: FcSpec,
  ) {
    const { csr } = spec;
    if (csr) {
      validateCsr(csr);
      if (csr.rows !== spec.outputs || (spec.weights && spec.weights.length !== csr.rows * csr.cols))
        throw new GpuError(
          'invalid-argument',
          `FC weights in CSR are ${csr.rows} × ${csr.cols}, which does not match ${spec.outputs} outputs${spec.weights ? ` and ${spec.weights.length} dense weights` : ''}.`,
        );
    } else if (!spec.weights)
      throw new GpuError('invalid-argument', 'an FC layer needs its weights, dense or as CSR; pass one.');
    this.inputs = csr ? csr.cols : spec.weights!.length / spec.outputs;
    if (!Number.isInteger(this.inputs))
      throw new GpuError(
        'invalid-argument',
        `${spec.weights!.length} weights do not form ${spec.outputs} rows.`,
      );
    const sparsity = weightSparsity(spec);
    const choice = spec.algorithm ?? 'auto';
    const count = spec.outputs * this.inputs;
    // only a layer that may run low-bit scans its weights for a grid
    const bits =
      spec.lowBit ??
      ((choice === 'lowbit' || (choice === 'auto' && lowBitApplies(spec.rows, count))) && spec.weights
        ? lowBitRows(spec.weights, spec.outputs)
        : undefined);
    this.algorithm =
      choice === 'auto'
        ? chooseFcAlgorithm(sparsity, spec.rows, bits && { weights: bits.weights, count })
        : choice;
    if (this.algorithm === 'lowbit') {
      if (!bits)
        throw new GpuError(
          'invalid-argument',
          "the FC weights are not ±α or {−α, 0, α} in every output row; run them with algorithm 'dense' or 'sparse'.",
        );
      const words = lowBitPlaneCount(bits.weights) * spec.outputs * Math.ceil(this.inputs / 32);
      if (bits.planes.length !== words || bits.alpha.length !== spec.outputs)
        throw new GpuError(
          'invalid-argument',
          `${bits.weights} bit planes of ${bits.planes.length} words and ${bits.alpha.length} α do not fit ${spec.outputs} outputs of ${this.inputs} inputs (${words} words); make them with lowBitRows.`,
        );
      this.lowBit = {
        weights: bits.weights,
        planes: gpu.tensor([bits.planes.length], bits.planes),
        alpha: gpu.tensor([spec.outputs], bits.alpha),
      };
      this.bias = gpu.tensor([spec.outputs], spec.bias ?? new Float32Array(spec.outputs));
    } else if (this.algorithm === 'sparse') {
      this.sparse = uploadSparse(
        gpu,
        csr ?? denseToCsr({ rows: spec.outputs, cols: this.inputs, data: spec.weights! }),
        spec.shared,
      );
      this.bias = gpu.tensor([spec.outputs], spec.bias ?? new Float32Array(spec.outputs));
    } else {
      this.conv = new Conv2dLayer(gpu, {
        weights: spec.weights ?? csrToDense(csr!).data,
        shape: [spec.outputs, this.inputs, 1, 1],
        ...(spec.bias ? { bias: spec.bias } : {}),
        activation: spec.activation ?? 'none',
        algorithm: 'implicit-gemm',
        sparsity,
      });
    }
  }

  /** Records y [batch, outputs] = act(x·Wᵀ + b) for x [batch, inputs]. */
  encode(r: Recorder, x: GpuTensor): GpuTensor {
    const batch = x.shape[0]!;
    if (x.size !== batch * this.inputs)
      throw new GpuError(
        'invalid-argument',
        `FC input [${x.shape.join(', ')}] does not have ${this.inputs} features per row.`,
      );
    if (this.conv) {
      const y = this.conv.encode(r, { ...x, shape: [batch, this.inputs, 1, 1] });
      return { ...y, shape: [batch, this.spec.outputs] };
    }
    if (this.lowBit) {
      const y = this.gpu.empty([batch, this.spec.outputs]);
      const { planes, alpha, weights } = this.lowBit;
      encodeLowBitFc(
        r,
        { x, planes, alpha, bias: this.bias!, y },
        { batch, k: this.inputs, outputs: this.spec.outputs },
        weights,
        this.spec.activation ?? 'none',
      );
      return y;
    }
    const s = this.sparse!;
    const y = this.gpu.empty([batch, this.spec.outputs]);
    encodeSparseFc(
      r,
      { x, rowPtr: s.rowPtr, colIdx: s.colIdx, values: s.values, bias: this.bias!, y },
      batch,
      this.inputs,
      this.spec.outputs,
      s.source,
      this.spec.activation ?? 'none',
    );
    return y;
  }

  destroy(): void {
    this.conv?.destroy();
    if (this.lowBit) for (const t of [this.lowBit.planes, this.lowBit.alpha]) this.gpu.release(t);
    if (this.sparse)
      for (const t of [this.sparse.rowPtr, this.sparse.colIdx, ...this.sparse.values]) this.gpu.release(t);
    if (this.bias) this.gpu.release(this.bias);
  }
}
