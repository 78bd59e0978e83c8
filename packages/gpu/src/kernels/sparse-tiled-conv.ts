import type { CsrMatrix } from '@zeroskip/sparse';
import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import type { ConvGeometry } from '../geometry.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { type Activation, u, workgroupIndex } from '../wgsl.js';
import { type ConvOutputBuffers, type Epilogue, epilogueOf, outputBuffers } from './epilogue.js';
import { parseSplitName, type SplitLetters, splitName } from './split-name.js';
import { sparseConvBindings, type ValueSource, valueDecls, valuePrologue } from './values.js';

/**
 * How the tiled sparse conv splits its work. A workgroup takes `rows` sparse rows (output channels)
 * × `cols` threads' columns. A segment is `px·lanes` consecutive output pixels of one output row of one
 * image (the batch folds into the columns), owned by `lanes` neighbouring threads: lane l computes
 * pixels l, l + lanes, l + 2·lanes, … so that each load instruction of a warp reads consecutive
 * addresses. The `split` thread slices of a row share its non-zeros round-robin (split-K for layers
 * with few columns) and their partial sums meet in workgroup memory. Threads: rows·split·cols.
 */
export interface SparseTiling {
  /** Output pixels per thread (1–8): accumulators in registers. */
  readonly px: number;
  /** Threads sharing one segment, interleaved along x; divides `cols`. */
  readonly lanes: number;
  /** Column threads per workgroup (per row and slice). */
  readonly cols: number;
  /** Thread slices sharing one row's non-zeros. */
  readonly split: number;
  /** Sparse rows per workgroup. */
  readonly rows: number;
}

/** Accumulators per thread beyond which registers spill on current GPUs. */
const MAX_PX = 8;
/** Lanes beyond a warp (NVIDIA's 32) would not make one load instruction's addresses more contiguous. */
const WARP = 32;
/** Invocations every WebGPU adapter allows per workgroup. */
const MAX_THREADS = 256;
/** Workgroup size the default rule fills with columns, then with split-K slices. */
const DEFAULT_THREADS = 128;
/** Threads in flight below which the default rule splits rows further (about 256 per SM of an H100). */
const MIN_THREADS_IN_FLIGHT = 32_768;
/**
 * Rows 9 to 32 pixels wide take 2 lanes and 32 columns, so that the split fills the workgroup: on an
 * H100 this beat the wider segments on all 5 such layers of the 17 measured at batch 1 (res3a: 1.41× →
 * 1.83× cuDNN) and on 4 of 5 at batch 32 (apps/bench/results/h100/2026-11-23/sparse-tiled).
 */
const MEDIUM_LANES = 2;
const MEDIUM_COLS = 32;
/** Non-zeros per split slice the default rule keeps, so a slice amortises its partial-sum exchange. */
const MIN_NNZ_PER_SLICE = 8;

const nextPow2 = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));
const floorPow2 = (x: number) => 2 ** Math.floor(Math.log2(Math.max(1, x)));

/** A tiling's field letters: `p7l32c128s1r1`. */
const TILING_LETTERS: SplitLetters<keyof SparseTiling> = {
  px: 'p',
  lanes: 'l',
  cols: 'c',
  split: 's',
  rows: 'r',
};

/** A short name of a tiling, `p7l32c128s1r1`, for benchmark rows and variant lists. */
export function sparseTilingName(t: SparseTiling): string {
  return splitName(TILING_LETTERS, t);
}

/** Reads {@link sparseTilingName}'s form back. */
export function parseSparseTiling(name: string): SparseTiling {
  const t = parseSplitName(TILING_LETTERS, name, 'sparse tiling', 'p7l32c128s1r1');
  checkSparseTiling(t);
  return t;
}

export function checkSparseTiling(t: SparseTiling): void {
  const ok = (v: number) => Number.isInteger(v) && v >= 1;
  if (!(ok(t.px) && ok(t.lanes) && ok(t.cols) && ok(t.split) && ok(t.rows)) || t.px > MAX_PX)
    throw new GpuError(
      'invalid-argument',
      `sparse tiling ${JSON.stringify(t)} needs positive integers and px ≤ ${MAX_PX}.`,
    );
  if (t.cols % t.lanes !== 0)
    throw new GpuError(
      'invalid-argument',
      `sparse tiling ${sparseTilingName(t)} splits ${t.cols} column threads into segments of ${t.lanes} lanes; lanes must divide cols.`,
    );
  if (t.rows * t.split * t.cols > MAX_THREADS)
    throw new GpuError(
      'invalid-argument',
      `sparse tiling ${sparseTilingName(t)} has ${t.rows * t.split * t.cols} threads per workgroup; rows·split·cols must be at most ${MAX_THREADS}.`,
    );
}

/** Segments along one output row: ⌈wo / (px·lanes)⌉. */
function rowSegments(geo: ConvGeometry, t: Pick<SparseTiling, 'px' | 'lanes'>): number {
  return Math.ceil(geo.wo / (t.px * t.lanes));
}

/**
 * Segment shape: px the whole row up to 8; otherwise (px in 8…4, lanes a power of two up to a warp)
 * the fewest pixels computed past the row's end, then the most lanes, then the most pixels.
 */
function segmentShape(wo: number, maxLanes = WARP): { px: number; lanes: number } {
  if (wo <= MAX_PX) return { px: wo, lanes: 1 };
  let best = { px: MAX_PX, lanes: 1, waste: Number.POSITIVE_INFINITY };
  for (let lanes = maxLanes; lanes >= 1; lanes /= 2)
    for (let px = MAX_PX; px >= 4; px--) {
      const waste = Math.ceil(wo / (px * lanes)) * px * lanes - wo;
      if (waste < best.waste) best = { px, lanes, waste };
    }
  return { px: best.px, lanes: best.lanes };
}

/**
 * The default tiling for a layer whose rows hold `meanNnz` non-zeros on average: `px` and `lanes` from
 * `segmentShape`; `cols` the segments' threads rounded up to a power of two, at most 128 (32 on rows of
 * 9 to 32 pixels, `MEDIUM_COLS`); `split`
 * doubles while a slice keeps ≥ 8 non-zeros, first to fill a 128-thread workgroup, then (to 256
 * threads) while fewer than 32 768 threads would be in flight; one row per workgroup.
 */
export function sparseTiling(geo: ConvGeometry, meanNnz: number): SparseTiling {
  const medium = geo.wo > MAX_PX && geo.wo <= WARP;
  const { px, lanes } = segmentShape(geo.wo, medium ? MEDIUM_LANES : WARP);
  const threads = geo.n * geo.ho * rowSegments(geo, { px, lanes }) * lanes;
  const cols = Math.max(lanes, Math.min(medium ? MEDIUM_COLS : DEFAULT_THREADS, nextPow2(threads)));
  const maxSplit = floorPow2(meanNnz / MIN_NNZ_PER_SLICE);
  let split = 1;
  while (split * 2 <= maxSplit && cols * split < DEFAULT_THREADS) split *= 2;
  const inFlight = () => geo.o * Math.ceil(threads / cols) * cols * split;
  while (split * 2 <= maxSplit && cols * split < MAX_THREADS && inFlight() < MIN_THREADS_IN_FLIGHT)
    split *= 2;
  return { px, lanes, cols, split, rows: 1 };
}

/**
 * The geometry the input is padded to for a tiling: extra zero columns on the right so that the last
 * segment of a row may read its pixels' windows past the output's end without bounds checks. A conv
 * without padding reads its input as it is (see {@link readsInputAsIs}).
 */
export function tiledPadGeometry(geo: ConvGeometry, t: SparseTiling): ConvGeometry {
  if (readsInputAsIs(geo)) return geo;
  const wp = geo.w + geo.pl + geo.pr;
  const needed = (rowSegments(geo, t) * t.px * t.lanes - 1) * geo.sw + (geo.kw - 1) * geo.dw + 1;
  return { ...geo, pr: geo.pr + Math.max(0, needed - wp) };
}

/**
 * Whether the tiled kernel reads the unpadded input, saving the pad pass (a dispatch and a copy of the
 * input: about 10 µs of a batch-1 layer on an H100). Without padding every window of an output
 * pixel lies inside its input row; past the row's end, the last segment's surplus pixels read the next
 * row (or past the buffer, which WebGPU bounds), and those pixels are never stored.
 */
export function readsInputAsIs(geo: ConvGeometry): boolean {
  return geo.pt === 0 && geo.pl === 0 && geo.pb === 0 && geo.pr === 0;
}

/**
 * Sputnik's row swizzle: rows by decreasing non-zeros (stable), so each workgroup's rows cost alike;
 * within each of `groups` groups of rows where a workgroup's rows must share one (the staged kernel).
 */
export function sparseRowOrder(csr: CsrMatrix, groups = 1): Uint32Array {
  const rowsPerGroup = csr.rows / groups;
  const group = (o: number) => Math.floor(o / rowsPerGroup);
  const nnz = (o: number) => csr.rowPtr[o + 1]! - csr.rowPtr[o]!;
  return Uint32Array.from({ length: csr.rows }, (_, o) => o).sort(
    (a, b) => group(a) - group(b) || nnz(b) - nnz(a) || a - b,
  );
}

export interface SparseTiledBuffers extends ConvOutputBuffers {
  /** The input zero-padded by `encodePad` to {@link tiledPadGeometry}, or as it is where that adds nothing. */
  readonly xp: GpuTensor;
  readonly rowPtr: GpuTensor;
  /** Output channels in {@link sparseRowOrder}. */
  readonly order: GpuTensor;
  /** `stretchOffsets` for {@link tiledPadGeometry}. */
  readonly offsets: GpuTensor;
  /** [values] for f32, [packed codes, codebook] for a codebook. */
  readonly values: readonly GpuTensor[];
  readonly bias: GpuTensor;
}

interface SparseTiledSpec {
  readonly geo: ConvGeometry;
  readonly values: ValueSource;
  readonly epilogue: Epilogue;
  readonly tiling: SparseTiling;
}

/** Sizes shared by the dispatch and the shader. */
function layout(geo: ConvGeometry, t: SparseTiling) {
  const xw = rowSegments(geo, t);
  const segments = geo.n * geo.ho * xw;
  const rowSlots = Math.ceil(geo.o / t.rows);
  const tiles = Math.ceil((segments * t.lanes) / t.cols);
  return { xw, segments, rowSlots, total: rowSlots * tiles, threads: t.rows * t.split * t.cols };
}

/**
 * Tiled direct sparse convolution (Sputnik's 1-D tiling over Escort's stretched offsets): workgroups
 * take rows × column segments, rows varying fastest so that neighbouring workgroups read the same input
 * tile from cache; each pass stages `split·cols` (value, offset) pairs per row in workgroup memory and
 * each tap is `px` multiply-adds at constant distances (lanes·stride) from one address. Bias and
 * the epilogue are fused.
 */
export function encodeSparseTiledConv(
  r: Recorder,
  b: SparseTiledBuffers,
  geo: ConvGeometry,
  values: ValueSource,
  activation: Activation,
  tiling: SparseTiling,
): void {
  checkSparseTiling(tiling);
  r.dispatch(
    'conv-sparse-tiled',
    r.gpu.pipeline(CONV_SPARSE_TILED, { geo, values, epilogue: epilogueOf(activation, b, geo), tiling }),
    [b.xp, b.rowPtr, b.order, b.offsets, b.bias, ...outputBuffers(b), ...b.values],
    grid(layout(geo, tiling).total, r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

const CONV_SPARSE_TILED: Program<SparseTiledSpec> = {
  name: 'conv-sparse-tiled',
  wgsl: ({ geo, values, epilogue, tiling }) => {
    const { px, lanes, cols, split, rows } = tiling;
    const { xw, segments, rowSlots, total, threads } = layout(geo, tiling);
    const pad = tiledPadGeometry(geo, tiling);
    const hp = pad.h + pad.pt + pad.pb;
    const wp = pad.w + pad.pl + pad.pr;
    const per = split * cols; // entries of one row staged per pass
    const [nx] = grid(total, 65535);
    const pixels = Array.from({ length: px }, (_, i) => i);
    const taps = pixels
      .map((i) => `a${i} = fma(v, xp[at + ${u(i * lanes * geo.sw)}], a${i});`)
      .join('\n        ');
    // partial sums of the split slices, pixel-major so that a warp's writes hit distinct banks
    const reduce =
      split === 1
        ? ''
        : `${pixels.map((i) => `part[${u(i * threads)} + li] = a${i};`).join('\n  ')}
  workgroupBarrier();
  if (ks == 0u) {
    for (var s = 1u; s < ${u(split)}; s++) {
      let peer = li + s * ${u(cols)};
      ${pixels.map((i) => `a${i} += part[${u(i * threads)} + peer];`).join('\n      ')}
    }
  }`;
    const store = pixels
      .map((i) => {
        const write = `emit(out + ${u(i * lanes)}, a${i} + b);`;
        return xw * px * lanes === geo.wo ? write : `if (ox + ${u(i * lanes)} < ${u(geo.wo)}) { ${write} }`;
      })
      .join('\n  ');
    return /* wgsl */ `
${sparseConvBindings(
  [
    ['xp', 'array<f32>', 'read'],
    ['rowPtr', 'array<u32>', 'read'],
    ['order', 'array<u32>', 'read'],
    ['offs', 'array<u32>', 'read'],
  ],
  epilogue,
  values,
)}
${valueDecls(values)}
var<workgroup> sv: array<f32, ${u(threads)}>;
var<workgroup> so: array<u32, ${u(threads)}>;
var<workgroup> ranges: array<vec2u, ${u(rows)}>;
var<workgroup> passes: u32;
${split === 1 ? '' : `var<workgroup> part: array<f32, ${u(threads * px)}>;`}

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  if (wg >= ${u(total)}) { return; }
  ${valuePrologue(values, threads)}
  let slot = wg % ${u(rowSlots)};
  let ct = li % ${u(cols)};
  let ks = (li / ${u(cols)}) % ${u(split)};
  let r = li / ${u(per)};
  let row = slot * ${u(rows)} + r;
  if (li == 0u) {
    var most = 0u;
    for (var i = 0u; i < ${u(rows)}; i++) {
      let sorted = slot * ${u(rows)} + i;
      var rg = vec2u(0u, 0u);
      if (sorted < ${u(geo.o)}) {
        let o = order[sorted];
        rg = vec2u(rowPtr[o], rowPtr[o + 1u]);
      }
      ranges[i] = rg;
      most = max(most, rg.y - rg.x);
    }
    passes = (most + ${u(per - 1)}) / ${u(per)};
  }
  let np = workgroupUniformLoad(&passes);
  let rg = ranges[r];
  let q = (wg / ${u(rowSlots)}) * ${u(cols / lanes)} + ct / ${u(lanes)};
  // the last tile's surplus threads repeat the last segment and store nothing
  let c = min(q, ${u(segments - 1)});
  let n = c / ${u(geo.ho * xw)};
  let oy = (c / ${u(xw)}) % ${u(geo.ho)};
  let ox = (c % ${u(xw)}) * ${u(px * lanes)} + ct % ${u(lanes)};
  let base = n * ${u(geo.c * hp * wp)} + oy * ${u(geo.sh * wp)} + ox * ${u(geo.sw)};
  ${pixels.map((i) => `var a${i} = 0.0;`).join('\n  ')}
  let e = li % ${u(per)};
  for (var t = 0u; t < np; t++) {
    let done = t * ${u(per)};
    let j = rg.x + done + e;
    if (j < rg.y) {
      sv[li] = value(j);
      so[li] = offs[j];
    }
    workgroupBarrier();
    let len = rg.y - rg.x;
    let count = min(${u(per)}, select(0u, len - done, len > done));
    for (var k = ks; k < count; k += ${u(split)}) {
      let v = sv[r * ${u(per)} + k];
      let at = base + so[r * ${u(per)} + k];
      ${taps}
    }
    workgroupBarrier();
  }
  ${reduce}
  if (ks != 0u || q >= ${u(segments)} || row >= ${u(geo.o)}) { return; }
  let o = order[row];
  let b = bias[o];
  let out = ((n * ${u(geo.o)} + o) * ${u(geo.ho)} + oy) * ${u(geo.wo)} + ox;
  ${store}
}`;
  },
};
