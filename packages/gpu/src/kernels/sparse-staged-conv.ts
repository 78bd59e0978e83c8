import type { CsrMatrix } from '@zeroskip/sparse';
import type { DeviceLimits, Program } from '../device.js';
import { GpuError } from '../errors.js';
import type { ConvGeometry } from '../geometry.js';
import { grid, type Recorder } from '../recorder.js';
import { CODE_WIDTHS, checkConvCsr } from '../sparse-weights.js';
import type { GpuTensor } from '../tensor.js';
import { type Activation, u, workgroupIndex } from '../wgsl.js';
import { type ConvOutputBuffers, type Epilogue, epilogueOf, outputBuffers } from './epilogue.js';
import { parseSplitName, type SplitLetters, splitName } from './split-name.js';
import { sparseConvBindings, type ValueSource, valueDecls, valuePrologue } from './values.js';

/**
 * How the staged sparse conv splits its work. A workgroup takes `warps·rows` output channels of one
 * group × a tile of one image's output: `width` columns × `px·32/width` rows. Each pass copies the
 * tile's input window for `channels` input channels into workgroup memory; then each 32-thread warp
 * walks the non-zeros of its `rows` channels that fall in those input channels, every lane applying
 * each one to its `px` pixels from workgroup memory. The input is read from global memory once per
 * workgroup rather than once per non-zero, and a warp's 32 reads of a tap hit 32 distinct banks
 * whatever their alignment, where the tiled kernel's global reads of a shifted window straddle cache
 * lines.
 */
export interface SparseStaging {
  /** Output pixels per thread, down the tile's rows (1–8): accumulators per channel. */
  readonly px: number;
  /** Output channels per warp. */
  readonly rows: number;
  /** Warps (of 32 threads) per workgroup. */
  readonly warps: number;
  /** Input channels staged per pass. */
  readonly channels: number;
  /** Tile columns: lanes per tile row, a power of two up to 32; 32 / width rows per load. */
  readonly width: number;
}

/** Lanes that walk one channel's non-zeros together. */
const WARP = 32;
/** Accumulators per thread (rows·px) beyond which registers spill. */
const MAX_ACCUMULATORS = 64;
/** Invocations every WebGPU adapter allows per workgroup: the default rule's limit without a device's. */
const PORTABLE_THREADS = 256;
/** The most invocations per workgroup a staging may name; the device's own limit is checked as it records. */
const MAX_THREADS = 1024;
/** Bytes of workgroup memory every WebGPU adapter allows: the default rule stays within them. */
const PORTABLE_WORKGROUP_BYTES = 16_384;
/**
 * Window values each thread holds in registers for the next pass: channels per pass are capped so that
 * the window fits (one channel at least).
 */
const MAX_PREFETCH = 16;
/** Non-zeros a warp takes per step of its walk. */
const UNROLL = 4;
/** Row stride over row length beyond which the window is left unpadded. */
const MAX_STRIDE_PADDING = 1.25;
/** Largest pixels per thread: 8 output rows per lane at most. */
const MAX_PX = 8;
/** Channels per warp the default rule takes where the group has enough, to share each staged window. */
const DEFAULT_ROWS = 4;
const DEFAULT_WARPS = 8;
/**
 * Warps the default rule takes where the device allows them and the conv still has
 * {@link MIN_WIDE_WORKGROUPS}: twice the channels share each window, and each thread fetches half as
 * much of it. On an H100 at batch 32 (with the fetch offsets kept, below) VGG-16 conv3_2 went from
 * 1.75 to 1.41 ms and conv4_2 from 1.78 to 1.51 ms; ResNet-50 res4a, left 128 workgroups, went from
 * 0.161 to 0.195 ms.
 */
const WIDE_WARPS = 16;
const MIN_WIDE_WORKGROUPS = 256;
/**
 * Prefetched values per thread up to which each one's window offset is computed once, before the
 * passes, and kept in a register. With 16 per thread the registers cost more than the arithmetic saves
 * (VGG-16 conv5_2: 0.59 ms recomputed, 0.77 ms kept).
 */
const MAX_KEPT_OFFSETS = 8;
/** The window offset of padding: above any offset in a group (channels × rows × columns < 2³²). */
const OFF_MAP = 0xffff_ffff;

const STAGING_LETTERS: SplitLetters<keyof SparseStaging> = {
  px: 'p',
  rows: 'r',
  warps: 'w',
  channels: 'c',
  width: 'l',
};

/** `p7r4w8c12l32`: a short name for benchmark rows and variant lists. */
export function sparseStagingName(s: SparseStaging): string {
  return splitName(STAGING_LETTERS, s);
}

/** Reads {@link sparseStagingName}'s form back. */
export function parseSparseStaging(name: string): SparseStaging {
  const s = parseSplitName(STAGING_LETTERS, name, 'sparse staging', 'p7r4w8c12l32');
  checkSparseStaging(s);
  return s;
}

export function checkSparseStaging(s: SparseStaging): void {
  const ok = (v: number) => Number.isInteger(v) && v >= 1;
  if (!(ok(s.px) && ok(s.rows) && ok(s.warps) && ok(s.channels) && ok(s.width)) || s.px > MAX_PX)
    throw new GpuError(
      'invalid-argument',
      `sparse staging ${JSON.stringify(s)} needs positive integers and px ≤ ${MAX_PX}.`,
    );
  if (s.width > WARP || (s.width & (s.width - 1)) !== 0)
    throw new GpuError(
      'invalid-argument',
      `sparse staging ${sparseStagingName(s)} has tiles ${s.width} columns wide; the width must be a power of two up to ${WARP}.`,
    );
  if (s.rows * s.px > MAX_ACCUMULATORS)
    throw new GpuError(
      'invalid-argument',
      `sparse staging ${sparseStagingName(s)} keeps ${s.rows * s.px} accumulators per thread; rows·px must be at most ${MAX_ACCUMULATORS}.`,
    );
  if (s.warps * WARP > MAX_THREADS)
    throw new GpuError(
      'invalid-argument',
      `sparse staging ${sparseStagingName(s)} has ${s.warps * WARP} threads per workgroup; warps must be at most ${MAX_THREADS / WARP}.`,
    );
}

/** Sizes shared by the host's offsets, the dispatch and the shader. */
export interface StagedWindow {
  /** Output tile: `tw` columns × `th` rows. */
  readonly tw: number;
  readonly th: number;
  /** Staged input window per channel: `rh` rows × `rw` columns, rows `stride` apart in memory. */
  readonly rh: number;
  readonly rw: number;
  readonly stride: number;
  /** Input channels per pass (`channels`, at most what the threads prefetch) and passes per group. */
  readonly channels: number;
  readonly passes: number;
  /** Floats of workgroup memory for one pass's window. */
  readonly floats: number;
}

/**
 * The staged window of a staging: its row stride is padded so that the 32 / width tile rows one load
 * instruction reads land in distinct banks (an odd multiple of `width` apart modulo 32), where that
 * costs at most a quarter more memory; otherwise those loads take two bank cycles, which costs less
 * than staging fewer channels per pass.
 */
export function stagedWindow(geo: ConvGeometry, s: SparseStaging): StagedWindow {
  const tw = s.width;
  const lines = WARP / s.width;
  const th = s.px * lines;
  const rh = (th - 1) * geo.sh + (geo.kh - 1) * geo.dh + 1;
  const rw = (tw - 1) * geo.sw + (geo.kw - 1) * geo.dw + 1;
  let stride = rw;
  if (lines > 1) {
    const spread = (w: number) => ((geo.sh * w) % WARP) / tw;
    for (let w = rw; w <= rw * MAX_STRIDE_PADDING; w++)
      if (Number.isInteger(spread(w)) && spread(w) % 2 === 1) {
        stride = w;
        break;
      }
  }
  const prefetched = Math.floor((MAX_PREFETCH * s.warps * WARP) / (rh * rw));
  const channels = Math.min(s.channels, geo.cg, Math.max(1, prefetched));
  return {
    tw,
    th,
    rh,
    rw,
    stride,
    channels,
    passes: Math.ceil(geo.cg / channels),
    floats: channels * rh * stride,
  };
}

/**
 * A non-zero's own loads and loop step cost about as much as this many taps: `px` is chosen for the
 * rows computed (the map's rows rounded up to whole tiles) times 1 + this / px, so that a 27-row map
 * takes 7 rows per thread (one row past the end) rather than 3 (none); on an H100 at batch 32, AlexNet
 * conv2 ran in 0.318 ms at 8 rows per thread and 0.454 ms at 3.
 */
const TAPS_PER_NONZERO = 2;

/** The default tile's width and pixels per thread for a map (`sparseStaging`). */
function defaultTile(geo: Pick<ConvGeometry, 'ho' | 'wo'>): { width: number; px: number } {
  const width = Math.min(WARP, 2 ** Math.ceil(Math.log2(Math.max(1, geo.wo))));
  const lines = WARP / width;
  let px = MAX_PX;
  let cost = Number.POSITIVE_INFINITY;
  for (let p = MAX_PX; p >= 1; p--) {
    const c = Math.ceil(geo.ho / (p * lines)) * p * lines * (1 + TAPS_PER_NONZERO / p);
    if (c < cost) [px, cost] = [p, c];
  }
  return { width, px };
}

/**
 * The share of the default tiles' pixels that lie on the map: the rest are computed and dropped (a
 * 13-wide map in tiles 16 wide and 14 high uses 76% of them).
 */
export function stagedTileUse(geo: Pick<ConvGeometry, 'ho' | 'wo'>): number {
  const { width, px } = defaultTile(geo);
  const th = (px * WARP) / width;
  return (geo.wo / (Math.ceil(geo.wo / width) * width)) * (geo.ho / (Math.ceil(geo.ho / th) * th));
}

/** The limits a device puts on a staging's threads per workgroup (one-dimensional workgroups). */
export type ThreadLimits = Pick<
  DeviceLimits,
  'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupSizeX'
>;

const threadLimit = (l: ThreadLimits) =>
  Math.min(l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX);

/**
 * The default staging: tiles a warp wide on maps of 32 columns or more, else the next power of two of
 * the width; `px` by `TAPS_PER_NONZERO`'s rule (the most pixels on ties); 8 warps of up to 4 channels
 * each (fewer on small groups), or 16 where `limits` allow 512 threads and enough workgroups
 * remain; and as many channels per pass as fit 16 KiB beside `reservedBytes` (a codebook's).
 */
export function sparseStaging(geo: ConvGeometry, reservedBytes = 0, limits?: ThreadLimits): SparseStaging {
  const { width, px } = defaultTile(geo);
  const wide = { px, rows: DEFAULT_ROWS, warps: WIDE_WARPS, channels: 1, width };
  const warps =
    (limits ? threadLimit(limits) : PORTABLE_THREADS) >= WIDE_WARPS * WARP &&
    geo.og >= WIDE_WARPS * DEFAULT_ROWS &&
    layout(geo, wide, stagedWindow(geo, wide)).total >= MIN_WIDE_WORKGROUPS
      ? WIDE_WARPS
      : Math.min(DEFAULT_WARPS, 2 ** Math.floor(Math.log2(Math.max(1, geo.og))));
  const rows = Math.max(1, Math.min(DEFAULT_ROWS, Math.floor(geo.og / warps)));
  const perChannel = stagedWindow(geo, { px, rows, warps, channels: 1, width }).floats;
  const fit = Math.floor((PORTABLE_WORKGROUP_BYTES - reservedBytes) / 4 / perChannel);
  return { px, rows, warps, channels: Math.max(1, Math.min(geo.cg, fit)), width };
}

/** Bytes of the largest codebook a sparse kernel copies into workgroup memory. */
const MAX_CODEBOOK_BYTES = 4 * 2 ** Math.max(...CODE_WIDTHS);

/**
 * Whether the default staging of `geo` runs on every adapter: one channel's window beside the largest
 * codebook within 16 KiB. Large kernels at large strides (11×11 at stride 4: a 39 × 135 window for a
 * tile 32 wide and 8 high) do not.
 */
export function stagingFitsAnywhere(geo: ConvGeometry): boolean {
  const one = stagedWindow(geo, { ...sparseStaging(geo), channels: 1 });
  return one.floats * 4 + MAX_CODEBOOK_BYTES <= PORTABLE_WORKGROUP_BYTES;
}

/** The CSR's non-zeros addressed for a staged window: where each pass starts per row, and offsets. */
export interface StagedWeights {
  /** Per row, the first non-zero in each pass's channels, then the row's end: o × (passes + 1). */
  readonly passPtr: Uint32Array;
  /** Per non-zero, in CSR order: its tap's place in the window, (ci mod channels, ky·dh, kx·dw). */
  readonly offsets: Uint32Array;
}

export function stagedWeights(csr: CsrMatrix, geo: ConvGeometry, win: StagedWindow): StagedWeights {
  checkConvCsr(csr, geo);
  const taps = geo.kh * geo.kw;
  const passPtr = new Uint32Array(geo.o * (win.passes + 1));
  const offsets = new Uint32Array(csr.colIdx.length);
  for (let o = 0; o < geo.o; o++) {
    const end = csr.rowPtr[o + 1]!;
    let j = csr.rowPtr[o]!;
    for (let t = 0; t <= win.passes; t++) {
      // column indices ascend within a row, so each pass's non-zeros are contiguous
      while (j < end && Math.floor(csr.colIdx[j]! / taps) < t * win.channels) j++;
      passPtr[o * (win.passes + 1) + t] = t === win.passes ? end : j;
    }
    for (let i = csr.rowPtr[o]!; i < end; i++) {
      const k = csr.colIdx[i]!;
      const ci = Math.floor(k / taps);
      const ky = Math.floor((k % taps) / geo.kw);
      offsets[i] =
        (ci % win.channels) * win.rh * win.stride + ky * geo.dh * win.stride + (k % geo.kw) * geo.dw;
    }
  }
  return { passPtr, offsets };
}

export interface SparseStagedBuffers extends ConvOutputBuffers {
  /** The unpadded input: the staging pass writes zeros outside it. */
  readonly x: GpuTensor;
  readonly passPtr: GpuTensor;
  /** Output channels in `sparseRowOrder` within each group. */
  readonly order: GpuTensor;
  readonly offsets: GpuTensor;
  /** [values] for f32, [packed codes, codebook] for a codebook. */
  readonly values: readonly GpuTensor[];
  readonly bias: GpuTensor;
}

interface SparseStagedSpec {
  readonly geo: ConvGeometry;
  readonly values: ValueSource;
  readonly epilogue: Epilogue;
  readonly staging: SparseStaging;
}

/** Workgroups: channel slots (fastest, so neighbours share an input tile in cache) × output tiles. */
function layout(geo: ConvGeometry, s: SparseStaging, win: StagedWindow) {
  const slotsPerGroup = Math.ceil(geo.og / (s.warps * s.rows));
  const slots = geo.groups * slotsPerGroup;
  const tilesX = Math.ceil(geo.wo / win.tw);
  const tilesY = Math.ceil(geo.ho / win.th);
  return { slotsPerGroup, slots, tilesX, tilesY, total: slots * geo.n * tilesX * tilesY };
}

/**
 * Records the staged sparse conv ({@link SparseStaging}); a staging whose window exceeds the device's
 * workgroup memory is a GpuError.
 */
export function encodeSparseStagedConv(
  r: Recorder,
  b: SparseStagedBuffers,
  geo: ConvGeometry,
  values: ValueSource,
  activation: Activation,
  staging: SparseStaging,
): void {
  checkSparseStaging(staging);
  const threads = staging.warps * WARP;
  const limit = threadLimit(r.gpu.limits);
  if (threads > limit)
    throw new GpuError(
      'limit-exceeded',
      `sparse staging ${sparseStagingName(staging)} runs ${threads} threads per workgroup, over the device's ${limit}; name fewer warps.`,
    );
  const win = stagedWindow(geo, staging);
  const bytes = (win.floats + (values.kind === 'codebook' ? values.size : 0)) * 4;
  if (bytes > r.gpu.limits.maxComputeWorkgroupStorageSize)
    throw new GpuError(
      'limit-exceeded',
      `sparse staging ${sparseStagingName(staging)} stages ${bytes} bytes for this conv, over the device's ${r.gpu.limits.maxComputeWorkgroupStorageSize}; stage fewer channels or a smaller tile (px, width).`,
    );
  r.dispatch(
    'conv-sparse-staged',
    r.gpu.pipeline(CONV_SPARSE_STAGED, { geo, values, epilogue: epilogueOf(activation, b, geo), staging }),
    [b.x, b.passPtr, b.order, b.offsets, b.bias, ...outputBuffers(b), ...b.values],
    grid(layout(geo, staging, win).total, r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

const CONV_SPARSE_STAGED: Program<SparseStagedSpec> = {
  name: 'conv-sparse-staged',
  wgsl: ({ geo, values, epilogue, staging }) => {
    const { px, rows, warps } = staging;
    const win = stagedWindow(geo, staging);
    const { slotsPerGroup, slots, tilesX, tilesY, total } = layout(geo, staging, win);
    const threads = warps * WARP;
    const lines = WARP / win.tw;
    const perPass = win.channels * win.rh * win.rw;
    const [nx] = grid(total, 65535);
    const rowList = Array.from({ length: rows }, (_, r) => r);
    const pixels = Array.from({ length: px }, (_, i) => i);
    const channelSlots = (r: number) =>
      `let p${r} = base + w + ${u(r * warps)};
  let o${r} = order[g * ${u(geo.og)} + min(p${r}, ${u(geo.og - 1)})];
  let live${r} = p${r} < ${u(geo.og)};
  ${pixels.map((i) => `var a${r}_${i} = 0.0;`).join(' ')}`;
    // A lane's taps of one non-zero read `b + i·tapRows`, and `b` never exceeds `last` (the window's
    // last element less the farthest tap). Clamping `b` there once lets the compiler drop the bounds
    // clamp that WebGPU puts on every workgroup index, tap by tap. On an H100, VGG-16 conv1_2 at batch 32
    // took 2.11 ms with the per-tap clamps, 1.74 ms with this one, and 1.55 ms with no robustness at all.
    const tapRows = lines * geo.sh * win.stride;
    const last = win.floats - 1 - (px - 1) * tapRows;
    // Non-zeros go UNROLL at a time, their values and offsets loaded before any of their taps, so the
    // loads overlap and the loop's own steps are shared. On an H100 at batch 32 this took VGG-16 conv1_2
    // from 1.74 to 1.53 ms and conv4_2 from 2.06 to 1.78 ms, where loading one non-zero ahead did not.
    const nonzero = (k: number, at: string) =>
      `let v${k} = value(${at}); let b${k} = min(lane + offs[${at}], ${u(last)});`;
    const taps = (r: number, k: number) =>
      pixels
        .map((i) => `a${r}_${i} = fma(v${k}, win[b${k} + ${u(i * tapRows)}], a${r}_${i});`)
        .join('\n        ');
    const unrolled = Array.from({ length: UNROLL }, (_, k) => k);
    const walk = (r: number) => `if (live${r}) {
      let at = o${r} * ${u(win.passes + 1)} + t;
      let hi = passPtr[at + 1u];
      var j = passPtr[at];
      for (; j + ${u(UNROLL - 1)} < hi; j += ${u(UNROLL)}) {
        ${unrolled.map((k) => nonzero(k, `j + ${u(k)}`)).join('\n        ')}
        ${unrolled.map((k) => taps(r, k)).join('\n        ')}
      }
      for (; j < hi; j++) {
        ${nonzero(0, 'j')}
        ${taps(r, 0)}
      }
    }`;
    // the next pass's window is fetched into registers before this pass's taps, hiding its latency
    const fetched = Array.from({ length: Math.ceil(perPass / threads) }, (_, k) => k);
    const kept = fetched.length <= MAX_KEPT_OFFSETS;
    const fetch = (c0: string) =>
      fetched
        .map((k) =>
          kept
            ? `f${k} = fetch(q${k}, ${c0}, image);`
            : `f${k} = fetch(li + ${u(k * threads)}, ${c0}, iy0, ix0, image);`,
        )
        .join('\n    ');
    // element e's place in the input: its window channel, and its row and column on the map
    const hw = geo.h * geo.w;
    const element = `let cl = e / ${u(win.rw * win.rh)};
  let iy = iy0 + i32((e / ${u(win.rw)}) % ${u(win.rh)});
  let ix = ix0 + i32(e % ${u(win.rw)});`;
    const onMap = `iy >= 0 && iy < i32(${u(geo.h)}) && ix >= 0 && ix < i32(${u(geo.w)})`;
    // Where offsets are not kept, the element's place is worked out whole each pass: the kept form's
    // split (an offset, then a check against the pass's channels) ran slower recomputed, in two H100
    // calls at 8 warps (ResNet-50 res4a: 0.161 against 0.190 ms, VGG-16 conv5_2: 0.593 against 0.700).
    const fetchFn = kept
      ? `/**
 * Where element e of a pass's window (channel, row, column) lies in the input, counted from the pass's
 * first channel; OFF_MAP (${u(OFF_MAP)}) for padding and for elements past the window.
 */
fn windowOffset(e: u32, iy0: i32, ix0: i32) -> u32 {
  ${element}
  if (e < ${u(perPass)} && ${onMap}) { return cl * ${u(hw)} + u32(iy) * ${u(geo.w)} + u32(ix); }
  return ${u(OFF_MAP)};
}

/** The input at window offset q from channel c0 of the image's group on: zero off the map or the group. */
fn fetch(q: u32, c0: u32, image: u32) -> f32 {
  if (q < (${u(geo.cg)} - c0) * ${u(hw)}) { return x[image + c0 * ${u(hw)} + q]; }
  return 0.0;
}`
      : `/** Element e of a pass's window (channel, row, column), read from channel c0 + its channel on. */
fn fetch(e: u32, c0: u32, iy0: i32, ix0: i32, image: u32) -> f32 {
  ${element}
  if (e < ${u(perPass)} && c0 + cl < ${u(geo.cg)} && ${onMap}) {
    return x[image + ((c0 + cl) * ${u(geo.h)} + u32(iy)) * ${u(geo.w)} + u32(ix)];
  }
  return 0.0;
}`;
    const store = (r: number) =>
      pixels
        .map(
          (i) => `if (live${r} && oy + ${u(i * lines)} < ${u(geo.ho)}) {
    emit(((n * ${u(geo.o)} + o${r}) * ${u(geo.ho)} + oy + ${u(i * lines)}) * ${u(geo.wo)} + ox, a${r}_${i} + bias[o${r}]);
  }`,
        )
        .join('\n  ');
    return /* wgsl */ `
${sparseConvBindings(
  [
    ['x', 'array<f32>', 'read'],
    ['passPtr', 'array<u32>', 'read'],
    ['order', 'array<u32>', 'read'],
    ['offs', 'array<u32>', 'read'],
  ],
  epilogue,
  values,
)}
${valueDecls(values)}
var<workgroup> win: array<f32, ${u(win.floats)}>;

${fetchFn}

/** Where element e of the window lives: rows a stride apart. */
fn place(e: u32) -> u32 {
  return (e / ${u(win.rw)}) * ${u(win.stride)} + e % ${u(win.rw)};
}

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  if (wg >= ${u(total)}) { return; }
  ${valuePrologue(values, threads)}
  let slot = wg % ${u(slots)};
  let tile = wg / ${u(slots)};
  let g = slot / ${u(slotsPerGroup)};
  let base = (slot % ${u(slotsPerGroup)}) * ${u(warps * rows)};
  let n = tile / ${u(tilesX * tilesY)};
  let ty0 = ((tile / ${u(tilesX)}) % ${u(tilesY)}) * ${u(win.th)};
  let tx0 = (tile % ${u(tilesX)}) * ${u(win.tw)};
  let w = li / ${u(WARP)};
  let line = (li % ${u(WARP)}) / ${u(win.tw)};
  let col = li % ${u(win.tw)};
  // this lane's first tap in the window: its tile row and column
  let lane = line * ${u(geo.sh * win.stride)} + col * ${u(geo.sw)};
  let oy = ty0 + line;
  let ox = tx0 + col;
  let iy0 = i32(ty0 * ${u(geo.sh)}) - i32(${u(geo.pt)});
  let ix0 = i32(tx0 * ${u(geo.sw)}) - i32(${u(geo.pl)});
  let image = (n * ${u(geo.c)} + g * ${u(geo.cg)}) * ${u(hw)};
  ${rowList.map(channelSlots).join('\n  ')}
  ${kept ? fetched.map((k) => `let q${k} = windowOffset(li + ${u(k * threads)}, iy0, ix0);`).join('\n  ') : ''}
  ${fetched.map((k) => `var f${k} = 0.0;`).join(' ')}
  ${fetch('0u')}
  for (var t = 0u; t < ${u(win.passes)}; t++) {
    workgroupBarrier();
    ${fetched.map((k) => `if (li + ${u(k * threads)} < ${u(perPass)}) { win[place(li + ${u(k * threads)})] = f${k}; }`).join('\n    ')}
    workgroupBarrier();
    if (t + 1u < ${u(win.passes)}) {
      ${fetch(`(t + 1u) * ${u(win.channels)}`)}
    }
    ${rowList.map(walk).join('\n    ')}
  }
  if (ox >= ${u(geo.wo)}) { return; }
  ${rowList.map(store).join('\n  ')}
}`;
  },
};
