import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import type { ConvGeometry } from '../geometry.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { type Activation, bindings, u, windowLiterals, windowLoop } from '../wgsl.js';
import { dispatchElementwise, elementwiseWgsl } from './elementwise.js';
import {
  type ConvOutputBuffers,
  type Epilogue,
  epilogueFns,
  epilogueOf,
  outputBindings,
  outputBuffers,
} from './epilogue.js';
import { type LowBitWeights, lowBitPlaneCount } from './lowbit-fc.js';
import { type PoolParams, type PoolWindow, poolWindowOf } from './ops.js';
import {
  chooseGemmTile,
  type GemmOperands,
  type GemmShape,
  type GemmTile,
  gemmSplits,
  gemmTiles,
  tiledGemmWgsl,
} from './tiled-gemm.js';

// Convolution as GEMM per group: C[m, p] = Σ_k A[m, k]·B[k, p] with A the group's weights [og, k]
// (OIHW rows), B the im2col matrix [k, n·ho·wo] and C written straight into NCHW with bias and
// activation, on the shared register-tiled core (tiled-gemm.ts). B is either gathered from the input
// while tiles load (implicit GEMM: each thread's pixel is fixed, so its window origin is worked out
// once and only the tap of k is decoded per load) or read from an im2col buffer. A 1×1 unpadded conv
// needs no decoding at all: B's row k is input channel k, a contiguous plane. A conv that reads its
// input through a pool (PoolConv) pools each B value's window while loading, so the pooled map is
// never written.

/** A pool between the conv's input and its GEMM: the input is [n, c, window.h, window.w], `geo` the pooled map's. */
export interface InputPool extends PoolWindow {
  readonly kind: 'max' | 'avg';
}

/** A max or average pool over an NCHW input of `shape`, as a conv that reads through it sees it. */
export function inputPoolOf(
  shape: readonly number[],
  pool: { readonly kind: 'max' | 'avg' } & PoolParams,
): InputPool {
  return { kind: pool.kind, ...poolWindowOf(shape, pool.kind, pool) };
}

/** Elements of one channel of the input buffer: the unpooled plane where the conv reads through a pool. */
const planeSize = (geo: ConvGeometry, pool: InputPool | undefined) =>
  pool ? pool.window.h * pool.window.w : geo.h * geo.w;

/**
 * `pooledAt(plane, py, px)`: the pooled value at pooled position (py, px) of the unpooled channel that
 * starts at `plane`, over a map of `rows`×`cols` pooled positions. The window is unrolled with every
 * tap's load independent of the others (clamped into the plane, masked where it falls in the
 * padding), so a B element's loads are in flight together; taps that no position can take into the
 * padding are not checked at all.
 */
function pooledFn(pool: InputPool, rows: number, cols: number): string {
  const { h, w, kh, kw, sh, sw, dh, dw, pt, pl } = pool.window;
  const max = pool.kind === 'max';
  // whether tap offset d along an axis stays inside the plane for every position 0 … n − 1
  const inside = (d: number, n: number, stride: number, size: number) =>
    d >= 0 && (n - 1) * stride + d < size;
  const taps: string[] = [];
  for (let ky = 0; ky < kh; ky++)
    for (let kx = 0; kx < kw; kx++) {
      const [dy, dx] = [ky * dh - pt, kx * dw - pl];
      const rowIn = inside(dy, rows, sh, h);
      const colIn = inside(dx, cols, sw, w);
      const iy = `y0 + ${dy}`;
      const ix = `x0 + ${dx}`;
      const conds = [
        ...(rowIn ? [] : [`${iy} >= 0`, `${iy} < ${h}`]),
        ...(colIn ? [] : [`${ix} >= 0`, `${ix} < ${w}`]),
      ];
      const at = (v: string, inRange: boolean, size: number) => (inRange ? v : `clamp(${v}, 0, ${size - 1})`);
      const load = `x[plane + u32(${at(iy, rowIn, h)}) * ${u(w)} + u32(${at(ix, colIn, w)})]`;
      if (conds.length === 0) {
        taps.push(max ? `acc = max(acc, ${load});` : `acc += ${load}; cnt += 1u;`);
        continue;
      }
      const ok = conds.join(' && ');
      taps.push(
        max
          ? `acc = select(acc, max(acc, ${load}), ${ok});`
          : `{ let ok = ${ok}; acc += select(0.0, ${load}, ok); cnt += select(0u, 1u, ok); }`,
      );
    }
  // count_include_pad: the taps inside the padded input, fewer only where ceil mode runs past its end
  const padded = (k: number, d: number, n: number, stride: number, size: number, origin: string) =>
    Array.from({ length: k }, (_, t) =>
      (n - 1) * stride + t * d < size ? '1u' : `select(0u, 1u, ${origin} + ${t * d} < ${size})`,
    ).join(' + ');
  const divisor = pool.countPad
    ? `f32((${padded(kh, dh, rows, sh, pool.hp, 'y0')}) * (${padded(kw, dw, cols, sw, pool.wp, 'x0')}))`
    : 'f32(max(cnt, 1u))';
  return /* wgsl */ `
fn pooledAt(plane: u32, py: u32, px: u32) -> f32 {
  let y0 = i32(py * ${u(sh)});
  let x0 = i32(px * ${u(sw)});
  var acc = ${max ? '-3.402823e38' : '0.0'};
  var cnt = 0u;
  ${taps.join('\n  ')}
  return ${max ? 'acc' : `acc / ${divisor}`};
}`;
}

function im2colFn(geo: ConvGeometry, pool?: InputPool): string {
  const { c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, cg, ho, wo } = geo;
  const plane = planeSize(geo, pool);
  return /* wgsl */ `${pool ? pooledFn(pool, h, w) : ''}
/** Where output pixel p's window starts: input row/column of tap (0, 0) and the image's channel base. */
fn pixelOrigin(p: u32, g: u32) -> vec3i {
  let n = p / ${u(ho * wo)};
  let s = p % ${u(ho * wo)};
  return vec3i(i32((s / ${u(wo)}) * ${u(sh)}) - ${pt}, i32((s % ${u(wo)}) * ${u(sw)}) - ${pl}, i32((n * ${u(c)} + g * ${u(cg)}) * ${u(plane)}));
}
/** The im2col value of GEMM row k for a pixel whose window starts at origin, or 0 in the padding. */
fn im2colAt(k: u32, origin: vec3i) -> f32 {
  let ci = k / ${u(kh * kw)};
  let r = k % ${u(kh * kw)};
  let iy = origin.x + i32((r / ${u(kw)}) * ${u(dh)});
  let ix = origin.y + i32((r % ${u(kw)}) * ${u(dw)});
  if (iy < 0 || iy >= ${h} || ix < 0 || ix >= ${w}) { return 0.0; }
  ${
    pool
      ? `return pooledAt(u32(origin.z) + ci * ${u(plane)}, u32(iy), u32(ix));`
      : `return x[u32(origin.z) + ci * ${u(h * w)} + u32(iy) * ${u(w)} + u32(ix)];`
  }
}
fn im2col(k: u32, p: u32, g: u32) -> f32 { return im2colAt(k, pixelOrigin(p, g)); }`;
}

/** A 1×1 conv without padding reads input channel k of a pixel at a fixed offset: no taps, no bounds. */
function isPointwise(geo: ConvGeometry): boolean {
  return geo.kh === 1 && geo.kw === 1 && geo.pt + geo.pl + geo.pb + geo.pr === 0;
}

/** The GEMM of a conv: per group, output channels × output pixels × cg·kh·kw. */
function convGemmShape(geo: ConvGeometry): GemmShape {
  return { m: geo.og, n: geo.n * geo.ho * geo.wo, k: geo.k, batches: geo.groups };
}

/** The tile of least estimated time for a conv's GEMM (the 64×64 one on a software adapter). */
export function convTile(geo: ConvGeometry, software: boolean): GemmTile {
  return chooseGemmTile(convGemmShape(geo), 'mk', software);
}

/** A conv's GEMM run with `tile`, and its k splits. */
export function convGemm(geo: ConvGeometry, tile: GemmTile) {
  const shape = convGemmShape(geo);
  return { shape, tile, splits: gemmSplits(shape, tile) };
}

/**
 * `weightAt(row, k)`: weight k of output channel `row` from bit planes [O, ⌈k/32⌉] (for ternary the
 * non-zero plane, then the sign plane; 1 = −α) and α per channel, as ±α or 0.
 */
function lowBitWeightFn(geo: ConvGeometry, bits: LowBitWeights): string {
  const words = Math.ceil(geo.k / 32);
  const sign = bits === 'ternary' ? geo.o * words : 0;
  return /* wgsl */ `
fn weightAt(row: u32, k: u32) -> f32 {
  let wi = row * ${u(words)} + (k >> 5u);
  let bit = 1u << (k & 31u);
  let a = select(alpha[row], -alpha[row], (w[${u(sign)} + wi] & bit) != 0u);
  return ${bits === 'ternary' ? 'select(0.0, a, (w[wi] & bit) != 0u)' : 'a'};
}`;
}

/** What the GEMM of a conv reads besides its geometry: the pool its input goes through, its weights' bits. */
export interface ConvGemmOptions {
  /** The GEMM's tile; default: the cost model's (`convTile`). */
  readonly tile?: GemmTile;
  readonly pool?: InputPool;
  /** Weights as bit planes and α per channel (`ConvBuffers.w` and `alpha`), as `lowBitRows` gives them. */
  readonly lowBit?: LowBitWeights;
}

/** What the GEMM reads besides its tile, without the absent parts (a spec's key holds what is there). */
type ConvGemmExtras = Omit<ConvGemmOptions, 'tile'>;

function given({
  pool,
  lowBit,
}: {
  pool: InputPool | undefined;
  lowBit: LowBitWeights | undefined;
}): ConvGemmExtras {
  return { ...(pool ? { pool } : {}), ...(lowBit ? { lowBit } : {}) };
}

function gemmWgsl(
  geo: ConvGeometry,
  epilogue: Epilogue,
  implicit: boolean,
  maxDim: number,
  tile: GemmTile,
  { pool, lowBit }: ConvGemmExtras = {},
): string {
  const { shape, splits } = convGemm(geo, tile);
  const hw = geo.ho * geo.wo;
  const p = shape.n;
  const [nx] = grid(gemmTiles(shape, tile) * splits, maxDim);
  const source = implicit ? (isPointwise(geo) ? (pool ? 'pooled' : 'pointwise') : 'im2col') : 'cols';
  const ops: GemmOperands = {
    decls: `${bindings([
      [implicit ? 'x' : 'cols', 'array<f32>', 'read'],
      ['w', lowBit ? 'array<u32>' : 'array<f32>', 'read'],
      ...(lowBit ? [['alpha', 'array<f32>', 'read'] as const] : []),
      ...(splits > 1
        ? [['part', 'array<f32>', 'read_write'] as const]
        : [['bias', 'array<f32>', 'read'] as const, ...outputBindings(epilogue)]),
    ])}
${splits > 1 ? '' : epilogueFns(epilogue)}
${implicit ? im2colFn(geo, pool) : ''}
${lowBit ? lowBitWeightFn(geo, lowBit) : ''}`,
    aLayout: 'mk',
    loadA: (b, m, k) =>
      lowBit
        ? `weightAt(${b} * ${u(geo.og)} + ${m}, ${k})`
        : `w[(${b} * ${u(geo.og)} + ${m}) * ${u(geo.k)} + ${k}]`,
    colSetup: (b, col) =>
      source === 'cols'
        ? `let pb = ${col};`
        : `let origin = pixelOrigin(${col}, ${b});${
            source === 'pointwise'
              ? `\n  let pixel = u32(origin.z) + u32(origin.x) * ${u(geo.w)} + u32(origin.y);`
              : ''
          }`,
    loadB: (b, k) =>
      source === 'cols'
        ? `cols[(${b} * ${u(geo.k)} + ${k}) * ${u(p)} + pb]`
        : source === 'pointwise'
          ? `x[pixel + ${k} * ${u(geo.h * geo.w)}]`
          : source === 'pooled'
            ? `pooledAt(u32(origin.z) + ${k} * ${u(planeSize(geo, pool))}, u32(origin.x), u32(origin.y))`
            : `im2colAt(${k}, origin)`,
    store: (b, ks, m, col, v) =>
      splits > 1
        ? `part[(${ks} * ${u(geo.o)} + ${b} * ${u(geo.og)} + ${m}) * ${u(p)} + ${col}] = ${v};`
        : `let o = ${b} * ${u(geo.og)} + ${m};
    emit(((${col} / ${u(hw)}) * ${u(geo.o)} + o) * ${u(hw)} + ${col} % ${u(hw)}, ${v} + bias[o]);`,
  };
  return tiledGemmWgsl(shape, tile, splits, nx, ops);
}

export interface ConvBuffers extends ConvOutputBuffers {
  readonly x: GpuTensor;
  /** OIHW weights, or their bit planes where the GEMM reads low-bit weights. */
  readonly w: GpuTensor;
  /** α per output channel of low-bit weights. */
  readonly alpha?: GpuTensor;
  readonly bias: GpuTensor;
}

/** A conv kernel specialised to every size of its layer and to its epilogue. */
interface ConvSpec {
  readonly geo: ConvGeometry;
  readonly epilogue: Epilogue;
}

/** The GEMM's tile, which the kernels and the k-split reduction (through the split count) depend on. */
interface TiledConvSpec extends ConvSpec {
  readonly tile: GemmTile;
}

/** A GEMM kernel also knows how its workgroups are spread over the grid, the pool it reads through and its weights' bits. */
interface GemmConvSpec extends TiledConvSpec {
  readonly maxDim: number;
  readonly pool?: InputPool;
  readonly lowBit?: LowBitWeights;
}

const CONV_IMPLICIT_GEMM: Program<GemmConvSpec> = {
  name: 'conv-implicit-gemm',
  wgsl: ({ geo, epilogue, maxDim, tile, pool, lowBit }) =>
    gemmWgsl(geo, epilogue, true, maxDim, tile, given({ pool, lowBit })),
};

const CONV_GEMM: Program<GemmConvSpec> = {
  name: 'conv-gemm',
  wgsl: ({ geo, epilogue, maxDim, tile }) => gemmWgsl(geo, epilogue, false, maxDim, tile),
};

/** The k-split partial products [splits][o][n·ho·wo] summed into y (NCHW) with bias and epilogue. */
const CONV_SPLIT_K_REDUCE: Program<TiledConvSpec> = {
  name: 'conv-implicit-gemm-reduce',
  wgsl: ({ geo, epilogue, tile }) => {
    const hw = geo.ho * geo.wo;
    const p = geo.n * hw;
    return elementwiseWgsl(
      `${bindings([
        ['part', 'array<f32>', 'read'],
        ['bias', 'array<f32>', 'read'],
        ...outputBindings(epilogue),
      ])}
${epilogueFns(epilogue)}`,
      u(geo.o * p),
      `let o = e / ${u(p)};
  let pg = e % ${u(p)};
  var sum = bias[o];
  for (var ks = 0u; ks < ${u(convGemm(geo, tile).splits)}; ks++) { sum += part[ks * ${u(geo.o * p)} + e]; }
  emit(((pg / ${u(hw)}) * ${u(geo.o)} + o) * ${u(hw)} + pg % ${u(hw)}, sum);`,
    );
  },
};

/** The epilogue spec of a k-split GEMM pass, which writes partial sums and applies none. */
const PARTIAL_SUMS: Epilogue = { activation: 'none', residual: false };

/** Runs a conv GEMM program, through a k-split scratch buffer and its reduction where it splits k. */
function encodeConvGemm(
  r: Recorder,
  program: Program<GemmConvSpec>,
  label: string,
  b: ConvBuffers,
  source: GpuTensor,
  geo: ConvGeometry,
  activation: Activation,
  gemmTile: GemmTile,
  { pool, lowBit }: ConvGemmExtras = {},
): void {
  const { shape, tile, splits } = convGemm(geo, gemmTile);
  const maxDim = r.gpu.limits.maxComputeWorkgroupsPerDimension;
  const epilogue = epilogueOf(activation, b, geo);
  // a k-split pass stores partial sums and leaves the epilogue to its reduction: one pipeline for
  // every epilogue of the geometry
  const pipeline = r.gpu.pipeline(program, {
    geo,
    epilogue: splits === 1 ? epilogue : PARTIAL_SUMS,
    maxDim,
    tile,
    ...given({ pool, lowBit }),
  });
  const weights = lowBit ? [b.w, b.alpha!] : [b.w];
  const groups = grid(gemmTiles(shape, tile) * splits, maxDim);
  if (splits === 1) {
    r.dispatch(label, pipeline, [source, ...weights, b.bias, ...outputBuffers(b)], groups);
    return;
  }
  const part = r.gpu.empty([splits * geo.o * shape.n]);
  r.dispatch(label, pipeline, [source, ...weights, part], groups);
  dispatchElementwise(r, `${label}-reduce`, CONV_SPLIT_K_REDUCE, { geo, epilogue, tile }, geo.o * shape.n, [
    part,
    b.bias,
    ...outputBuffers(b),
  ]);
  // later dispatches that reuse the buffer run after these in queue order
  r.gpu.release(part);
}

/**
 * Dense conv as implicit GEMM (with `options.tile`, else the cost model's): no im2col buffer, the
 * input is gathered while loading tiles. With `pool`, `b.x` is the unpooled input and `geo` the conv
 * of the pooled map: one dispatch where a pool and a conv took two. With `lowBit`, `b.w` holds the
 * weights' bit planes and `b.alpha` their α per channel: 1 or 2 bits a weight instead of 32.
 */
export function encodeImplicitGemmConv(
  r: Recorder,
  b: ConvBuffers,
  geo: ConvGeometry,
  activation: Activation,
  { tile = convTile(geo, r.gpu.software), pool, lowBit }: ConvGemmOptions = {},
): void {
  const words = lowBit && lowBitPlaneCount(lowBit) * geo.o * Math.ceil(geo.k / 32);
  if (lowBit && (b.w.size !== words || b.alpha?.size !== geo.o))
    throw new GpuError(
      'invalid-argument',
      `a conv of ${geo.o} channels on ${lowBit} weights needs ${words} words of bit planes and ${geo.o} α; got ${b.w.size} words and ${b.alpha?.size ?? 'no'} α (make them with lowBitRows).`,
    );
  if (
    pool &&
    (pool.ho !== geo.h || pool.wo !== geo.w || b.x.size !== geo.n * geo.c * pool.window.h * pool.window.w)
  )
    throw new GpuError(
      'invalid-argument',
      `a conv reading through a pool needs the unpooled input [${geo.n}, ${geo.c}, h, w] whose pooled map is the conv's ${geo.h}×${geo.w}; got an input of ${b.x.size} elements pooled to ${pool.ho}×${pool.wo}.`,
    );
  const label = `conv-implicit-gemm${pool ? `-pool-${pool.kind}` : ''}${lowBit ? `-${lowBit}` : ''}`;
  encodeConvGemm(r, CONV_IMPLICIT_GEMM, label, b, b.x, geo, activation, tile, given({ pool, lowBit }));
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

/** The cuBLAS-style baseline: im2col into `cols` ([groups·k·n·ho·wo]), then a tiled SGEMM. */
export function encodeIm2colGemmConv(
  r: Recorder,
  b: ConvBuffers,
  cols: GpuTensor,
  geo: ConvGeometry,
  activation: Activation,
): void {
  encodeIm2col(r, b.x, cols, geo);
  encodeConvGemm(r, CONV_GEMM, 'sgemm', b, cols, geo, activation, convTile(geo, r.gpu.software));
}

const CONV_DEPTHWISE: Program<ConvSpec> = {
  name: 'conv-depthwise',
  wgsl: ({ geo, epilogue }) => {
    const { c, h, w, kh, kw, og, ho, wo } = geo;
    return elementwiseWgsl(
      `${bindings([
        ['x', 'array<f32>', 'read'],
        ['w', 'array<f32>', 'read'],
        ['bias', 'array<f32>', 'read'],
        ...outputBindings(epilogue),
      ])}
${epilogueFns(epilogue)}`,
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
  emit(e, acc + bias[o]);`,
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
    { geo, epilogue: epilogueOf(activation, b, geo) },
    geo.n * geo.o * geo.ho * geo.wo,
    [b.x, b.w, b.bias, ...outputBuffers(b)],
  );
}
