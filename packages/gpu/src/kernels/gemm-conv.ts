import type { Program } from '../device.js';
import type { ConvGeometry } from '../geometry.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import {
  type Activation,
  activationFn,
  bindings,
  u,
  windowLiterals,
  windowLoop,
  workgroupIndex,
} from '../wgsl.js';
import { dispatchElementwise, elementwiseWgsl } from './elementwise.js';

// Convolution as GEMM per group: C[m, p] = Σ_k A[m, k]·B[k, p] with A the group's weights [og, k]
// (OIHW rows), B the im2col matrix [k, n·ho·wo] and C written straight into NCHW with bias and
// activation. 64×64 output tiles, 16-deep k slices in workgroup memory, 16×16 threads of 4×4
// outputs each (strided by 16, so that neighbouring threads touch neighbouring addresses).
// B is either computed on the fly from the input (implicit GEMM) or read from an im2col buffer.
const TILE = 64;
const TK = 16;

function im2colFn(geo: ConvGeometry): string {
  const { c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, cg, ho, wo } = geo;
  return /* wgsl */ `
/** Where output pixel p's window starts: input row/column of tap (0, 0) and the image's channel base. */
fn pixelOrigin(p: u32, g: u32) -> vec3i {
  let n = p / ${u(ho * wo)};
  let s = p % ${u(ho * wo)};
  return vec3i(i32((s / ${u(wo)}) * ${u(sh)}) - ${pt}, i32((s % ${u(wo)}) * ${u(sw)}) - ${pl}, i32((n * ${u(c)} + g * ${u(cg)}) * ${u(h * w)}));
}
/** The im2col value of GEMM row k for a pixel whose window starts at origin, or 0 in the padding. */
fn im2colAt(k: u32, origin: vec3i) -> f32 {
  let ci = k / ${u(kh * kw)};
  let r = k % ${u(kh * kw)};
  let iy = origin.x + i32((r / ${u(kw)}) * ${u(dh)});
  let ix = origin.y + i32((r % ${u(kw)}) * ${u(dw)});
  if (iy < 0 || iy >= ${h} || ix < 0 || ix >= ${w}) { return 0.0; }
  return x[u32(origin.z) + ci * ${u(h * w)} + u32(iy) * ${u(w)} + u32(ix)];
}
fn im2col(k: u32, p: u32, g: u32) -> f32 { return im2colAt(k, pixelOrigin(p, g)); }`;
}

/**
 * Splits of the k dimension for a GEMM with few output tiles: a batch-1 layer such as ResNet-50's
 * res5 (512 × 49 outputs) has 8 tiles, too few to fill a GPU, so k is split and the partial sums
 * are reduced by a second pass. Each split keeps at least 16 k-slices.
 */
function kSplits(geo: ConvGeometry): number {
  const tiles = gemmGroups(geo);
  if (tiles >= 128) return 1;
  return Math.max(1, Math.min(Math.ceil(256 / tiles), Math.floor(geo.k / (16 * TK))));
}

function gemmWgsl(geo: ConvGeometry, activation: Activation, implicit: boolean, splits = 1): string {
  const m = geo.og;
  const p = geo.n * geo.ho * geo.wo;
  const k = geo.k;
  const tilesN = Math.ceil(p / TILE);
  const tilesM = Math.ceil(m / TILE);
  const tiles = tilesN * tilesM * geo.groups;
  const total = tiles * splits;
  const chunk = Math.ceil(Math.ceil(k / splits) / TK) * TK;
  const [nx] = grid(total, 65535);
  const loadB = implicit ? 'im2colAt(kb, origin)' : `cols[(g * ${u(k)} + kb) * ${u(p)} + pb]`;
  return /* wgsl */ `
${bindings([
  [implicit ? 'x' : 'cols', 'array<f32>', 'read'],
  ['w', 'array<f32>', 'read'],
  ...(splits > 1 ? [] : [['bias', 'array<f32>', 'read'] as const]),
  [splits > 1 ? 'part' : 'y', 'array<f32>', 'read_write'],
])}
${activationFn(activation)}
${implicit ? im2colFn(geo) : ''}
var<workgroup> As: array<f32, ${TK * TILE}>;
var<workgroup> Bs: array<f32, ${TK * TILE}>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  if (wg >= ${u(total)}) { return; }
  let tn = wg % ${u(tilesN)};
  let tm = (wg / ${u(tilesN)}) % ${u(tilesM)};
  let g = (wg / ${u(tilesN * tilesM)}) % ${u(geo.groups)};
  let ks = wg / ${u(tiles)};
  let m0 = tm * ${u(TILE)};
  let p0 = tn * ${u(TILE)};
  var acc: array<f32, 16>;
  // 256 threads load B elements e = li + 256·i, so each thread's column (pixel) is li % 64 throughout
  let pb = p0 + li % ${u(TILE)};
  ${implicit ? `let origin = pixelOrigin(min(pb, ${u(p - 1)}), g);` : ''}
  for (var k0 = ks * ${u(chunk)}; k0 < min(${u(k)}, (ks + 1u) * ${u(chunk)}); k0 += ${u(TK)}) {
    for (var i = 0u; i < 4u; i++) {
      let e = li + i * 256u;
      let kk = e % ${u(TK)};
      let mm = e / ${u(TK)};
      let ka = k0 + kk;
      var a = 0.0;
      if (m0 + mm < ${u(m)} && ka < ${u(k)}) { a = w[(g * ${u(m)} + m0 + mm) * ${u(k)} + ka]; }
      As[kk * ${u(TILE)} + mm] = a;
      let pp = e % ${u(TILE)};
      let kr = e / ${u(TILE)};
      let kb = k0 + kr;
      var b = 0.0;
      if (pb < ${u(p)} && kb < ${u(k)}) { b = ${loadB}; }
      Bs[kr * ${u(TILE)} + pp] = b;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${u(TK)}; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        av[i] = As[kk * ${u(TILE)} + lid.y + 16u * i];
        bv[i] = Bs[kk * ${u(TILE)} + lid.x + 16u * i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i * 4u + j] = fma(av[i], bv[j], acc[i * 4u + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let mm = m0 + lid.y + 16u * i;
    if (mm >= ${u(m)}) { continue; }
    let o = g * ${u(m)} + mm;
    for (var j = 0u; j < 4u; j++) {
      let pg = p0 + lid.x + 16u * j;
      if (pg >= ${u(p)}) { continue; }
      ${
        splits > 1
          ? `part[(ks * ${u(geo.o)} + o) * ${u(p)} + pg] = acc[i * 4u + j];`
          : `let n = pg / ${u(geo.ho * geo.wo)};
      let s = pg % ${u(geo.ho * geo.wo)};
      y[(n * ${u(geo.o)} + o) * ${u(geo.ho * geo.wo)} + s] = act(acc[i * 4u + j] + bias[o]);`
      }
    }
  }
}`;
}

function gemmGroups(geo: ConvGeometry, splits = 1): number {
  return Math.ceil((geo.n * geo.ho * geo.wo) / TILE) * Math.ceil(geo.og / TILE) * geo.groups * splits;
}

export interface ConvBuffers {
  readonly x: GpuTensor;
  readonly w: GpuTensor;
  readonly bias: GpuTensor;
  readonly y: GpuTensor;
}

/** A conv kernel specialised to every size of its layer and to the fused activation. */
interface ConvSpec {
  readonly geo: ConvGeometry;
  readonly activation: Activation;
}

const CONV_IMPLICIT_GEMM: Program<ConvSpec> = {
  name: 'conv-implicit-gemm',
  wgsl: ({ geo, activation }) => gemmWgsl(geo, activation, true, kSplits(geo)),
};

/** The k-split partial products [splits][o][n·ho·wo] summed into y (NCHW) with bias and activation. */
const CONV_SPLIT_K_REDUCE: Program<ConvSpec> = {
  name: 'conv-implicit-gemm-reduce',
  wgsl: ({ geo, activation }) => {
    const hw = geo.ho * geo.wo;
    const p = geo.n * hw;
    return elementwiseWgsl(
      `${bindings([
        ['part', 'array<f32>', 'read'],
        ['bias', 'array<f32>', 'read'],
        ['y', 'array<f32>', 'read_write'],
      ])}
${activationFn(activation)}`,
      u(geo.o * p),
      `let o = e / ${u(p)};
  let pg = e % ${u(p)};
  var sum = bias[o];
  for (var ks = 0u; ks < ${u(kSplits(geo))}; ks++) { sum += part[ks * ${u(geo.o * p)} + e]; }
  y[((pg / ${u(hw)}) * ${u(geo.o)} + o) * ${u(hw)} + pg % ${u(hw)}] = act(sum);`,
    );
  },
};

/** Dense conv as implicit GEMM: no im2col buffer, the input is gathered while loading tiles. */
export function encodeImplicitGemmConv(
  r: Recorder,
  b: ConvBuffers,
  geo: ConvGeometry,
  activation: Activation,
): void {
  const splits = kSplits(geo);
  const spec = { geo, activation };
  const pipeline = r.gpu.pipeline(CONV_IMPLICIT_GEMM, spec);
  const maxDim = r.gpu.limits.maxComputeWorkgroupsPerDimension;
  if (splits === 1) {
    r.dispatch('conv-implicit-gemm', pipeline, [b.x, b.w, b.bias, b.y], grid(gemmGroups(geo), maxDim));
    return;
  }
  const p = geo.n * geo.ho * geo.wo;
  const part = r.gpu.empty([splits * geo.o * p]);
  r.dispatch('conv-implicit-gemm', pipeline, [b.x, b.w, part], grid(gemmGroups(geo, splits), maxDim));
  dispatchElementwise(r, 'conv-implicit-gemm-reduce', CONV_SPLIT_K_REDUCE, spec, geo.o * p, [
    part,
    b.bias,
    b.y,
  ]);
  // later dispatches that reuse the buffer run after these in queue order
  r.gpu.release(part);
}

const IM2COL: Program<{ readonly geo: ConvGeometry }> = {
  name: 'im2col',
  wgsl: ({ geo }) => {
    const p = geo.n * geo.ho * geo.wo;
    return elementwiseWgsl(
      `${bindings([
        ['x', 'array<f32>', 'read'],
        ['cols', 'array<f32>', 'read_write'],
      ])}
${im2colFn(geo)}`,
      u(geo.groups * geo.k * p),
      `let pg = e % ${u(p)};
  let kg = (e / ${u(p)}) % ${u(geo.k)};
  let g = e / ${u(p * geo.k)};
  cols[e] = im2col(kg, pg, g);`,
    );
  },
};

/** The im2col matrix of every group: cols[g][k][p], k = (ci, ky, kx) of the group, p = (n, oy, ox). */
export function encodeIm2col(r: Recorder, x: GpuTensor, cols: GpuTensor, geo: ConvGeometry): void {
  dispatchElementwise(r, 'im2col', IM2COL, { geo }, geo.groups * geo.k * geo.n * geo.ho * geo.wo, [x, cols]);
}

const CONV_GEMM: Program<ConvSpec> = {
  name: 'conv-gemm',
  wgsl: ({ geo, activation }) => gemmWgsl(geo, activation, false),
};

/** The cuBLAS-style baseline: im2col into `cols` ([groups·k·n·ho·wo]), then a tiled SGEMM. */
export function encodeIm2colGemmConv(
  r: Recorder,
  b: ConvBuffers,
  cols: GpuTensor,
  geo: ConvGeometry,
  activation: Activation,
): void {
  encodeIm2col(r, b.x, cols, geo);
  r.dispatch(
    'sgemm',
    r.gpu.pipeline(CONV_GEMM, { geo, activation }),
    [cols, b.w, b.bias, b.y],
    grid(gemmGroups(geo), r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

const CONV_DEPTHWISE: Program<ConvSpec> = {
  name: 'conv-depthwise',
  wgsl: ({ geo, activation }) => {
    const { c, h, w, kh, kw, og, ho, wo } = geo;
    return elementwiseWgsl(
      `${bindings([
        ['x', 'array<f32>', 'read'],
        ['w', 'array<f32>', 'read'],
        ['bias', 'array<f32>', 'read'],
        ['y', 'array<f32>', 'read_write'],
      ])}
${activationFn(activation)}`,
      u(geo.n * geo.o * ho * wo),
      `let s = e % ${u(ho * wo)};
  let o = (e / ${u(ho * wo)}) % ${u(geo.o)};
  let n = e / ${u(ho * wo * geo.o)};
  let ci = o / ${u(og)};
  let oy = s / ${u(wo)};
  let ox = s % ${u(wo)};
  let xb = (n * ${u(c)} + ci) * ${u(h * w)};
  var acc = 0.0;
  ${windowLoop(windowLiterals(geo), 'oy', 'ox', `acc = fma(x[xb + iy * ${u(w)} + ix], w[(o * ${u(kh)} + ky) * ${u(kw)} + kx], acc);`)}
  y[e] = act(acc + bias[o]);`,
    );
  },
};

/** Depthwise-style conv (one input channel per group): one invocation per output element. */
export function encodeDepthwiseConv(
  r: Recorder,
  b: ConvBuffers,
  geo: ConvGeometry,
  activation: Activation,
): void {
  dispatchElementwise(
    r,
    'conv-depthwise',
    CONV_DEPTHWISE,
    { geo, activation },
    geo.n * geo.o * geo.ho * geo.wo,
    [b.x, b.w, b.bias, b.y],
  );
}
