import type { Program } from '../device.js';
import type { ConvGeometry } from '../geometry.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { UniformStruct } from '../uniforms.js';
import { type Activation, bindings, u, workgroupIndex } from '../wgsl.js';
import { elementwiseWgsl, encodeElementwise } from './elementwise.js';
import { type ConvOutputBuffers, type Epilogue, epilogueOf, outputBuffers } from './epilogue.js';
import { encodeIm2col } from './gemm-conv.js';
import { sparseConvBindings, type ValueSource, valueDecls, valuePrologue } from './values.js';

/** Images each invocation of the batched direct sparse conv computes, reusing every loaded weight. */
const MAX_IMAGES = 4;
const THREADS = 64;

const PAD_PARAMS = new UniformStruct('PadParams', {
  total: 'u32',
  h: 'u32',
  w: 'u32',
  hp: 'u32',
  wp: 'u32',
  pt: 'u32',
  pl: 'u32',
});

const PAD: Program<Record<string, never>> = {
  name: 'pad',
  wgsl: () =>
    elementwiseWgsl(
      bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['xp', 'array<f32>', 'read_write'],
        ],
        0,
        PAD_PARAMS,
      ),
      'p.total',
      `let px = e % p.wp;
  let py = (e / p.wp) % p.hp;
  let nc = e / (p.hp * p.wp);
  let iy = i32(py) - i32(p.pt);
  let ix = i32(px) - i32(p.pl);
  var v = 0.0;
  if (iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w)) { v = x[(nc * p.h + u32(iy)) * p.w + u32(ix)]; }
  xp[e] = v;`,
    ),
};

/** Copies x [n, c, h, w] into xp [n, c, h + pt + pb, w + pl + pr] with zero borders. */
export function encodePad(r: Recorder, x: GpuTensor, xp: GpuTensor, geo: ConvGeometry): void {
  const hp = geo.h + geo.pt + geo.pb;
  const wp = geo.w + geo.pl + geo.pr;
  encodeElementwise(
    r,
    'pad',
    PAD,
    {},
    PAD_PARAMS,
    { total: geo.n * geo.c * hp * wp, h: geo.h, w: geo.w, hp, wp, pt: geo.pt, pl: geo.pl },
    [x, xp],
  );
}

export interface SparseConvBuffers extends ConvOutputBuffers {
  /** The input zero-padded by {@link encodePad}. */
  readonly xp: GpuTensor;
  readonly rowPtr: GpuTensor;
  /** Stretched offsets (`stretchOffsets`). */
  readonly offsets: GpuTensor;
  /** [values] for f32, [packed codes, codebook] for a codebook. */
  readonly values: readonly GpuTensor[];
  readonly bias: GpuTensor;
}

/**
 * Direct sparse convolution (Escort; Fang et al.): one invocation per output pixel of one output
 * channel, for up to four images at once. The channel's (value, offset) pairs are staged in
 * workgroup memory 64 at a time and each tap is one multiply-add at base(pixel) + offset.
 */
export function encodeDirectSparseConv(
  r: Recorder,
  b: SparseConvBuffers,
  geo: ConvGeometry,
  values: ValueSource,
  activation: Activation,
): void {
  r.dispatch(
    'conv-direct-sparse',
    r.gpu.pipeline(CONV_DIRECT_SPARSE, { geo, values, epilogue: epilogueOf(activation, b, geo) }),
    [b.xp, b.rowPtr, b.offsets, b.bias, ...outputBuffers(b), ...b.values],
    grid(directSparseGroups(geo), r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

/** A sparse kernel specialised to its layer's sizes, value source and epilogue. */
interface SparseConvSpec {
  readonly geo: ConvGeometry;
  readonly values: ValueSource;
  readonly epilogue: Epilogue;
}

/** Workgroups of the direct sparse conv: 64 pixels of one output channel for up to 4 images each. */
function directSparseGroups(geo: ConvGeometry): number {
  return Math.ceil((geo.ho * geo.wo) / THREADS) * geo.o * Math.ceil(geo.n / Math.min(geo.n, MAX_IMAGES));
}

const CONV_DIRECT_SPARSE: Program<SparseConvSpec> = {
  name: 'conv-direct-sparse',
  wgsl: ({ geo, values, epilogue }) => {
    const hp = geo.h + geo.pt + geo.pb;
    const wp = geo.w + geo.pl + geo.pr;
    const hwo = geo.ho * geo.wo;
    const images = Math.min(geo.n, MAX_IMAGES);
    const tiles = Math.ceil(hwo / THREADS);
    const total = directSparseGroups(geo);
    const [nx] = grid(total, 65535);
    return /* wgsl */ `
${sparseConvBindings(
  [
    ['xp', 'array<f32>', 'read'],
    ['rowPtr', 'array<u32>', 'read'],
    ['offs', 'array<u32>', 'read'],
  ],
  epilogue,
  values,
)}
${valueDecls(values)}
var<workgroup> sv: array<f32, ${u(THREADS)}>;
var<workgroup> so: array<u32, ${u(THREADS)}>;
var<workgroup> range: vec2u;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  if (wg >= ${u(total)}) { return; }
  ${valuePrologue(values, THREADS)}
  let tile = wg % ${u(tiles)};
  let o = (wg / ${u(tiles)}) % ${u(geo.o)};
  let n0 = (wg / ${u(tiles * geo.o)}) * ${u(images)};
  let s = tile * ${u(THREADS)} + li;
  let valid = s < ${u(hwo)};
  let base = select(0u, (s / ${u(geo.wo)}) * ${u(geo.sh * wp)} + (s % ${u(geo.wo)}) * ${u(geo.sw)}, valid);
  if (li == 0u) { range = vec2u(rowPtr[o], rowPtr[o + 1u]); }
  let rg = workgroupUniformLoad(&range);
  var acc: array<f32, ${u(images)}>;
  for (var t = rg.x; t < rg.y; t += ${u(THREADS)}) {
    let j = t + li;
    if (j < rg.y) {
      sv[li] = value(j);
      so[li] = offs[j];
    }
    workgroupBarrier();
    let count = min(${u(THREADS)}, rg.y - t);
    if (valid) {
      for (var q = 0u; q < count; q++) {
        let v = sv[q];
        let at = base + so[q];
        for (var i = 0u; i < ${u(images)}; i++) {
          let n = min(n0 + i, ${u(geo.n - 1)});
          acc[i] = fma(v, xp[n * ${u(geo.c * hp * wp)} + at], acc[i]);
        }
      }
    }
    workgroupBarrier();
  }
  if (!valid) { return; }
  for (var i = 0u; i < ${u(images)}; i++) {
    let n = n0 + i;
    if (n < ${u(geo.n)}) { emit((n * ${u(geo.o)} + o) * ${u(hwo)} + s, acc[i] + bias[o]); }
  }
}`;
  },
};

export interface SpmmConvBuffers extends ConvOutputBuffers {
  readonly x: GpuTensor;
  readonly rowPtr: GpuTensor;
  /** CSR column indices k within the group (not stretched). */
  readonly colIdx: GpuTensor;
  readonly values: readonly GpuTensor[];
  readonly bias: GpuTensor;
}

/**
 * The cuSPARSE-style baseline: im2col into `cols`, then CSR × dense SpMM with one invocation per
 * (output channel, pixel); the row's non-zeros are read by every invocation of the workgroup alike.
 */
export function encodeIm2colSpmmConv(
  r: Recorder,
  b: SpmmConvBuffers,
  cols: GpuTensor,
  geo: ConvGeometry,
  values: ValueSource,
  activation: Activation,
): void {
  encodeIm2col(r, b.x, cols, geo);
  r.dispatch(
    'csr-spmm',
    r.gpu.pipeline(CONV_SPMM, { geo, values, epilogue: epilogueOf(activation, b, geo) }),
    [cols, b.rowPtr, b.colIdx, b.bias, ...outputBuffers(b), ...b.values],
    grid(spmmGroups(geo), r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

/** Workgroups of the CSR SpMM: 64 pixels (of all images) of one output channel each. */
function spmmGroups(geo: ConvGeometry): number {
  return Math.ceil((geo.n * geo.ho * geo.wo) / THREADS) * geo.o;
}

const CONV_SPMM: Program<SparseConvSpec> = {
  name: 'conv-spmm',
  wgsl: ({ geo, values, epilogue }) => {
    const p = geo.n * geo.ho * geo.wo;
    const hwo = geo.ho * geo.wo;
    const tiles = Math.ceil(p / THREADS);
    const total = spmmGroups(geo);
    const [nx] = grid(total, 65535);
    return /* wgsl */ `
${sparseConvBindings(
  [
    ['cols', 'array<f32>', 'read'],
    ['rowPtr', 'array<u32>', 'read'],
    ['colIdx', 'array<u32>', 'read'],
  ],
  epilogue,
  values,
)}
${valueDecls(values)}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  if (wg >= ${u(total)}) { return; }
  ${valuePrologue(values, THREADS)}
  let pg = (wg % ${u(tiles)}) * ${u(THREADS)} + li;
  let o = wg / ${u(tiles)};
  if (pg >= ${u(p)}) { return; }
  let g = o / ${u(geo.og)};
  var acc = 0.0;
  for (var j = rowPtr[o]; j < rowPtr[o + 1u]; j++) {
    acc = fma(value(j), cols[(g * ${u(geo.k)} + colIdx[j]) * ${u(p)} + pg], acc);
  }
  emit(((pg / ${u(hwo)}) * ${u(geo.o)} + o) * ${u(hwo)} + pg % ${u(hwo)}, acc + bias[o]);
}`;
  },
};
