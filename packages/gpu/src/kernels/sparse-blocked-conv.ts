import type { CsrMatrix } from '@zeroskip/sparse';
import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import type { ConvGeometry } from '../geometry.js';
import { grid, type Recorder } from '../recorder.js';
import { checkConvCsr } from '../sparse-weights.js';
import type { GpuTensor } from '../tensor.js';
import { type Activation, bindings, u, workgroupIndex } from '../wgsl.js';
import { dispatchElementwise, elementwiseWgsl } from './elementwise.js';
import {
  type ConvOutputBuffers,
  type Epilogue,
  epilogueFns,
  epilogueOf,
  outputBindings,
  outputBuffers,
} from './epilogue.js';
import { parseSplitName, type SplitLetters, splitName } from './split-name.js';

/**
 * How the register-blocked sparse conv splits its work. A thread computes `rows` output channels ×
 * `px` consecutive output pixels of one output row: for every (input channel, kernel row) it loads
 * the input strip those pixels see once into registers and applies all of its block's non-zeros in
 * that strip from there, so each loaded value serves about rows·kw·density taps instead of one
 * (at 90% sparsity and 8 rows, 2.4 taps of a 3×3 kernel row). A workgroup holds `blocks` row blocks
 * × `threads` strips; `split` slices of the workgroup share the (channel, kernel row) loop and
 * add their partial sums in workgroup memory, for layers with few strips.
 */
export interface SparseBlocking {
  /** Output channels per thread (a row block). */
  readonly rows: number;
  /** Consecutive output pixels per thread. */
  readonly px: number;
  /** Strip threads per row block and slice. */
  readonly threads: number;
  /** Row blocks per workgroup. */
  readonly blocks: number;
  /** Slices sharing the (channel, kernel row) loop. */
  readonly split: number;
}

/** Accumulators per thread (rows·px) beyond which registers spill. */
const MAX_ACCUMULATORS = 128;
/** Invocations every WebGPU adapter allows per workgroup. */
const MAX_THREADS = 256;
/** Bytes of workgroup memory every WebGPU adapter allows. */
const MAX_WORKGROUP_BYTES = 16_384;
/** Strips per output row from which the input is laid out by rows, not repeated per kernel row. */
const ROW_LAYOUT_MIN_STRIPS = 16;

/** A blocking's field letters: `r16p7t64b1s1`. */
const BLOCKING_LETTERS: SplitLetters<keyof SparseBlocking> = {
  rows: 'r',
  px: 'p',
  threads: 't',
  blocks: 'b',
  split: 's',
};

/** `r16p7t64b1s1`: a short name for benchmark rows and variant lists. */
export function sparseBlockingName(b: SparseBlocking): string {
  return splitName(BLOCKING_LETTERS, b);
}

/** Reads {@link sparseBlockingName}'s form back. */
export function parseSparseBlocking(name: string): SparseBlocking {
  const b = parseSplitName(BLOCKING_LETTERS, name, 'sparse blocking', 'r16p7t64b1s1');
  checkSparseBlocking(b);
  return b;
}

export function checkSparseBlocking(b: SparseBlocking): void {
  const ok = (v: number) => Number.isInteger(v) && v >= 1;
  if (!(ok(b.rows) && ok(b.px) && ok(b.threads) && ok(b.blocks) && ok(b.split)))
    throw new GpuError('invalid-argument', `sparse blocking ${JSON.stringify(b)} needs positive integers.`);
  if (b.rows * b.px > MAX_ACCUMULATORS)
    throw new GpuError(
      'invalid-argument',
      `sparse blocking ${sparseBlockingName(b)} keeps ${b.rows * b.px} accumulators per thread; rows·px must be at most ${MAX_ACCUMULATORS}.`,
    );
  if (b.threads * b.blocks * b.split > MAX_THREADS)
    throw new GpuError(
      'invalid-argument',
      `sparse blocking ${sparseBlockingName(b)} has ${b.threads * b.blocks * b.split} threads per workgroup; threads·blocks·split must be at most ${MAX_THREADS}.`,
    );
  if (b.split > 1 && reduceBytes(b) > MAX_WORKGROUP_BYTES)
    throw new GpuError(
      'invalid-argument',
      `sparse blocking ${sparseBlockingName(b)} needs ${reduceBytes(b)} bytes of workgroup memory to add its slices; at most ${MAX_WORKGROUP_BYTES}.`,
    );
}

/** Workgroup memory of the split reduction: one row's px partial sums of every thread but slice 0's. */
function reduceBytes(b: SparseBlocking): number {
  return (b.split - 1) * b.blocks * b.threads * b.px * 4;
}

/**
 * The input as the kernel reads it: for each strip (px output pixels of one output row) and each
 * (channel, kernel row), the `len` input values the strip's taps touch, stored so that neighbouring
 * strips' j-th values are neighbours in memory and a warp's loads coalesce. `rows` keeps one copy per
 * padded input row (strips of one output row are contiguous, which suffices when a row has at least
 * 16 strips); `taps` keeps one per (kernel row, output row), so strips of successive output rows are
 * contiguous too, at kh times the size.
 */
export interface StripLayout {
  readonly kind: 'rows' | 'taps';
  /** Strips per output row: ⌈wo / px⌉. */
  readonly xs: number;
  /** Input values per strip and (channel, kernel row): (px − 1)·sw + (kw − 1)·dw + 1. */
  readonly len: number;
  /** Element strides of an image, a channel, a kernel row, a strip value and an output row. */
  readonly image: number;
  readonly channel: number;
  readonly kernelRow: number;
  readonly value: number;
  readonly outputRow: number;
  /** Elements of the laid-out input. */
  readonly size: number;
}

export function stripLayout(geo: ConvGeometry, b: Pick<SparseBlocking, 'px'>): StripLayout {
  const xs = Math.ceil(geo.wo / b.px);
  const len = (b.px - 1) * geo.sw + (geo.kw - 1) * geo.dw + 1;
  const rows = xs >= ROW_LAYOUT_MIN_STRIPS && geo.kh > 1;
  // rows: [n, c, padded input row, len, xs]; taps: [n, c, kh, len, ho, xs]
  const row = len * xs;
  const plane = geo.ho * xs;
  const strides = rows
    ? { kernelRow: geo.dh * row, value: xs, outputRow: geo.sh * row }
    : { kernelRow: len * plane, value: plane, outputRow: xs };
  const channel = rows ? (geo.h + geo.pt + geo.pb) * row : geo.kh * strides.kernelRow;
  return {
    kind: rows ? 'rows' : 'taps',
    xs,
    len,
    image: geo.c * channel,
    channel,
    ...strides,
    size: geo.n * geo.c * channel,
  };
}

/**
 * A layer's non-zeros regrouped for the kernel: rows in blocks of `rows` (within a conv group), and
 * in each block by (input channel, kernel row); `entries` holds (case, value bits) pairs where case =
 * r·kw + kx names the row within the block and the kernel column, and `ptr` the start of each
 * (block, channel, kernel row) run, blocks·cg·kh + 1 of them.
 */
export interface BlockedWeights {
  readonly ptr: Uint32Array;
  readonly entries: Uint32Array;
}

/** Row blocks of a geometry: ⌈og / rows⌉ per conv group. */
function rowBlocks(geo: Pick<ConvGeometry, 'og' | 'groups'>, rows: number): number {
  return Math.ceil(geo.og / rows) * geo.groups;
}

export function blockedWeights(
  csr: CsrMatrix,
  geo: Pick<ConvGeometry, 'o' | 'og' | 'groups' | 'cg' | 'kh' | 'kw' | 'k'>,
  rows: number,
): BlockedWeights {
  checkConvCsr(csr, geo);
  const blocks = rowBlocks(geo, rows);
  const perGroup = blocks / geo.groups;
  const runs = geo.cg * geo.kh;
  const ptr = new Uint32Array(blocks * runs + 1);
  // count entries per run, then prefix-sum, then place: each CSR row is sorted by column = (c, ky, kx)
  const runOf = (o: number, k: number) => {
    const grp = Math.floor(o / geo.og);
    const block = grp * perGroup + Math.floor((o % geo.og) / rows);
    return block * runs + Math.floor(k / geo.kw);
  };
  for (let o = 0; o < geo.o; o++)
    for (let j = csr.rowPtr[o]!; j < csr.rowPtr[o + 1]!; j++) ptr[runOf(o, csr.colIdx[j]!) + 1]!++;
  for (let i = 0; i < blocks * runs; i++) ptr[i + 1]! += ptr[i]!;
  const next = ptr.slice(0, blocks * runs);
  const entries = new Uint32Array(2 * ptr[blocks * runs]!);
  // the odd words hold the f32 values' bits
  const values = new Float32Array(entries.buffer);
  for (let o = 0; o < geo.o; o++) {
    const r = (o % geo.og) % rows;
    for (let j = csr.rowPtr[o]!; j < csr.rowPtr[o + 1]!; j++) {
      const k = csr.colIdx[j]!;
      const at = next[runOf(o, k)]!++;
      entries[2 * at] = r * geo.kw + (k % geo.kw);
      values[2 * at + 1] = csr.values[j]!;
    }
  }
  return { ptr, entries };
}

/** Rows per block of the default: on an H100, 16 rows (112 accumulators) ran 2–5× slower than 8. */
const DEFAULT_ROWS = 8;
/** Strip threads per slice of the default. */
const DEFAULT_THREADS = 32;
/** Most slices of the default: 8 slices of 32 threads beat 1 of 64 on 15 of 17 layers at batch 32. */
const DEFAULT_SPLIT = 8;
/** (channel, kernel row) runs a slice of the default keeps at least. */
const MIN_RUNS_PER_SLICE = 16;

/**
 * The default blocking: 8 rows (fewer for narrower groups), px the 4 to 8 pixels that waste the
 * fewest past the row's end (the most on ties), slices of 32 strip threads, one row block per
 * workgroup, and up to 8 slices while each keeps at least 16 (channel, kernel row) runs
 * (apps/bench/results/h100/2026-11-23/sparse-blocked).
 */
export function sparseBlocking(geo: ConvGeometry): SparseBlocking {
  const rows = Math.min(DEFAULT_ROWS, geo.og);
  let px = Math.min(8, geo.wo);
  if (geo.wo > 8) {
    let waste = Number.POSITIVE_INFINITY;
    for (let p = 8; p >= 4; p--) {
      const w = Math.ceil(geo.wo / p) * p - geo.wo;
      if (w < waste) [px, waste] = [p, w];
    }
  }
  let split = 1;
  while (split * 2 <= DEFAULT_SPLIT && (geo.cg * geo.kh) / (split * 2) >= MIN_RUNS_PER_SLICE) split *= 2;
  return { rows, px, threads: DEFAULT_THREADS, blocks: 1, split };
}

export interface SparseBlockedBuffers extends ConvOutputBuffers {
  /** The input in {@link stripLayout} by {@link encodeStripGather}. */
  readonly xs: GpuTensor;
  readonly ptr: GpuTensor;
  readonly entries: GpuTensor;
  readonly bias: GpuTensor;
}

interface GatherSpec {
  readonly geo: ConvGeometry;
  readonly px: number;
}

const STRIP_GATHER: Program<GatherSpec> = {
  name: 'strip-gather',
  wgsl: ({ geo, px }) => {
    const l = stripLayout(geo, { px });
    // decode (image, channel, padded input row, strip value, strip) of element e per layout
    const rowOf =
      l.kind === 'rows'
        ? `let iy = (e / ${u(l.len * l.xs)}) % ${u(geo.h + geo.pt + geo.pb)};`
        : `let ky = (e / ${u(l.kernelRow)}) % ${u(geo.kh)};
  let oy = (e / ${u(l.xs)}) % ${u(geo.ho)};
  let iy = oy * ${u(geo.sh)} + ky * ${u(geo.dh)};`;
    return elementwiseWgsl(
      bindings([
        ['x', 'array<f32>', 'read'],
        ['xs', 'array<f32>', 'read_write'],
      ]),
      u(l.size),
      `let sx = e % ${u(l.xs)};
  let j = (e / ${u(l.value)}) % ${u(l.len)};
  let nc = e / ${u(l.channel)};
  ${rowOf}
  let ix = i32(sx * ${u(px * geo.sw)} + j) - ${geo.pl};
  let y0 = i32(iy) - ${geo.pt};
  var v = 0.0;
  if (y0 >= 0 && y0 < ${geo.h} && ix >= 0 && ix < ${geo.w}) { v = x[(nc * ${u(geo.h)} + u32(y0)) * ${u(geo.w)} + u32(ix)]; }
  xs[e] = v;`,
    );
  },
};

/** Records x [n, c, h, w] laid out as {@link stripLayout} says into xs, zeros for padding. */
export function encodeStripGather(
  r: Recorder,
  x: GpuTensor,
  xs: GpuTensor,
  geo: ConvGeometry,
  px: number,
): void {
  dispatchElementwise(r, 'strip-gather', STRIP_GATHER, { geo, px }, stripLayout(geo, { px }).size, [x, xs]);
}

interface SparseBlockedSpec {
  readonly geo: ConvGeometry;
  readonly epilogue: Epilogue;
  readonly blocking: SparseBlocking;
}

/** Sizes shared by the dispatch and the shader. */
function layout(geo: ConvGeometry, b: SparseBlocking) {
  const l = stripLayout(geo, b);
  const strips = geo.n * geo.ho * l.xs;
  const blocks = rowBlocks(geo, b.rows);
  const blockGroups = Math.ceil(blocks / b.blocks);
  const total = blockGroups * Math.ceil(strips / b.threads);
  return { l, strips, blocks, blockGroups, total, threads: b.threads * b.blocks * b.split };
}

/**
 * Register-blocked direct sparse convolution: workgroups take row blocks × strips, row blocks varying
 * fastest so that workgroups running together read the same strips from cache. Per (channel, kernel
 * row) a thread loads its strip once and runs its block's non-zeros there through a switch on
 * (row, kernel column), so that accumulators stay in registers. Bias and the epilogue are fused.
 */
export function encodeSparseBlockedConv(
  r: Recorder,
  b: SparseBlockedBuffers,
  geo: ConvGeometry,
  activation: Activation,
  blocking: SparseBlocking,
): void {
  checkSparseBlocking(blocking);
  r.dispatch(
    'conv-sparse-blocked',
    r.gpu.pipeline(CONV_SPARSE_BLOCKED, { geo, epilogue: epilogueOf(activation, b, geo), blocking }),
    [b.xs, b.ptr, b.entries, b.bias, ...outputBuffers(b)],
    grid(layout(geo, blocking).total, r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

const CONV_SPARSE_BLOCKED: Program<SparseBlockedSpec> = {
  name: 'conv-sparse-blocked',
  wgsl: ({ geo, epilogue, blocking }) => {
    const { rows, px, threads: ts, blocks: rb, split } = blocking;
    const { l, strips, blocks, blockGroups, total, threads } = layout(geo, blocking);
    const [nx] = grid(total, 65535);
    const perGroup = Math.ceil(geo.og / rows);
    const runs = geo.cg * geo.kh;
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    const acc = (r: number, p: number) => `a${r}_${p}`;
    const strip = range(l.len)
      .map((j) => `let s${j} = xs[at + ${u(j * l.value)}];`)
      .join('\n    ');
    const cases = range(rows)
      .flatMap((r) =>
        range(geo.kw).map(
          (kx) =>
            `case ${u(r * geo.kw + kx)}: { ${range(px)
              .map((p) => `${acc(r, p)} = fma(v, s${p * geo.sw + kx * geo.dw}, ${acc(r, p)});`)
              .join(' ')} }`,
        ),
      )
      .join('\n          ');
    const stores = (r: number) =>
      range(px)
        .map((p) => {
          const write = `emit(out + ${u(p)}, ${acc(r, p)} + b);`;
          return l.xs * px === geo.wo ? write : `if (ox + ${u(p)} < ${u(geo.wo)}) { ${write} }`;
        })
        .join('\n      ');
    // slices other than 0 hand one row's partial sums at a time to slice 0 through workgroup memory
    const reduce = (r: number) =>
      split === 1
        ? ''
        : `if (slice != 0u) { ${range(px)
            .map((p) => `part[${u(p * (split - 1) * rb * ts)} + li - ${u(rb * ts)}] = ${acc(r, p)};`)
            .join(' ')} }
    workgroupBarrier();
    if (slice == 0u) {
      for (var q = 1u; q < ${u(split)}; q++) {
        let peer = (q - 1u) * ${u(rb * ts)} + li;
        ${range(px)
          .map((p) => `${acc(r, p)} += part[${u(p * (split - 1) * rb * ts)} + peer];`)
          .join(' ')}
      }
    }
    workgroupBarrier();`;
    const finish = range(rows)
      .map(
        (r) => `${reduce(r)}
    if (live && ${r === 0 ? 'true' : `first + ${u(r)} < ${u(geo.og)}`}) {
      let o = row0 + ${u(r)};
      let b = bias[o];
      let out = ((n * ${u(geo.o)} + o) * ${u(geo.ho)} + oy) * ${u(geo.wo)} + ox;
      ${stores(r)}
    }`,
      )
      .join('\n    ');
    return /* wgsl */ `
${bindings([
  ['xs', 'array<f32>', 'read'],
  ['ptr', 'array<u32>', 'read'],
  ['ent', 'array<vec2u>', 'read'],
  ['bias', 'array<f32>', 'read'],
  ...outputBindings(epilogue),
])}
${epilogueFns(epilogue)}
${split === 1 ? '' : `var<workgroup> part: array<f32, ${u((split - 1) * rb * ts * px)}>;`}

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  if (wg >= ${u(total)}) { return; }
  let slice = li / ${u(rb * ts)};
  let lo = li % ${u(rb * ts)};
  let block = min((wg % ${u(blockGroups)}) * ${u(rb)} + lo / ${u(ts)}, ${u(blocks - 1)});
  let q = (wg / ${u(blockGroups)}) * ${u(ts)} + lo % ${u(ts)};
  // surplus threads repeat the last strip or block and store nothing; slice 0 stores the sums
  let live = slice == 0u && q < ${u(strips)} && (wg % ${u(blockGroups)}) * ${u(rb)} + lo / ${u(ts)} < ${u(blocks)};
  let s = min(q, ${u(strips - 1)});
  let n = s / ${u(geo.ho * l.xs)};
  let oy = (s / ${u(l.xs)}) % ${u(geo.ho)};
  let ox = (s % ${u(l.xs)}) * ${u(px)};
  let grp = block / ${u(perGroup)};
  let first = (block % ${u(perGroup)}) * ${u(rows)};
  let row0 = grp * ${u(geo.og)} + first;
  let base = n * ${u(l.image)} + grp * ${u(geo.cg * l.channel)} + oy * ${u(l.outputRow)} + s % ${u(l.xs)};
  ${range(rows)
    .flatMap((r) => range(px).map((p) => `var ${acc(r, p)} = 0.0;`))
    .join(' ')}
  let runs = block * ${u(runs)};
  for (var g = slice; g < ${u(runs)}; g += ${u(split)}) {
    let e0 = ptr[runs + g];
    let e1 = ptr[runs + g + 1u];
    if (e0 == e1) { continue; }
    let at = base + (g / ${u(geo.kh)}) * ${u(l.channel)} + (g % ${u(geo.kh)}) * ${u(l.kernelRow)};
    ${strip}
    for (var e = e0; e < e1; e++) {
      let en = ent[e];
      let v = bitcast<f32>(en.y);
      switch en.x {
          ${cases}
          default: {}
      }
    }
  }
  ${finish}
}`;
  },
};
