import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import type { ConvGeometry } from '../geometry.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { type Activation, bindings, f, u } from '../wgsl.js';
import { dispatchElementwise, elementwiseWgsl } from './elementwise.js';
import {
  type ConvOutputBuffers,
  type Epilogue,
  epilogueFns,
  epilogueOf,
  outputBindings,
  outputBuffers,
} from './epilogue.js';
import { convGemm, convTile } from './gemm-conv.js';
import {
  BYTES_PER_SECOND,
  chooseGemmTile,
  type GemmShape,
  gemmSeconds,
  gemmSplits,
  gemmTiles,
  tiledGemmWgsl,
} from './tiled-gemm.js';

// Winograd convolution F(m×m, 3×3) (Lavin & Gray) for 3×3 stride-1 convs: each m×m block of outputs
// is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A of its (m+2)² input patch d, so the α² = (m+2)² elementwise products
// summed over input channels become α² independent GEMMs U_ξ [og × cg] · V_ξ [cg × tiles], with
// 2.25× (m = 2) or 4× (m = 4) fewer multiplications than direct convolution. Three passes: the input
// transform writes V[ξ][c][tile], the batched GEMM (the shared tiled core) writes M[ξ][o][tile], and
// the output transform applies A, bias and activation while writing NCHW. The weight transform
// U = G g Gᵀ runs once on the host (weights are constant), in f64, laid out [ξ][g][c][o] so the GEMM
// reads A with o contiguous. F(4×4) multiplies input values by up to 5 and weights by fractions of
// 1/24, so its error in f32 is about ten times F(2×2)'s: still within 1e-5 of the output scale on
// the layers of real networks (winograd.test.ts checks it against the f64-accumulated reference).

/** Output block side m of F(m×m, 3×3). */
export type WinogradBlock = 2 | 4;

interface Transforms {
  /** Bᵀ: α × α. */
  readonly bt: readonly (readonly number[])[];
  /** G: α × 3. */
  readonly g: readonly (readonly number[])[];
  /** Aᵀ: m × α. */
  readonly at: readonly (readonly number[])[];
}

const TRANSFORMS: Record<WinogradBlock, Transforms> = {
  2: {
    bt: [
      [1, 0, -1, 0],
      [0, 1, 1, 0],
      [0, -1, 1, 0],
      [0, 1, 0, -1],
    ],
    g: [
      [1, 0, 0],
      [1 / 2, 1 / 2, 1 / 2],
      [1 / 2, -1 / 2, 1 / 2],
      [0, 0, 1],
    ],
    at: [
      [1, 1, 1, 0],
      [0, 1, -1, -1],
    ],
  },
  4: {
    bt: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    g: [
      [1 / 4, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1],
    ],
    at: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 0],
      [0, 1, 1, 4, 4, 0],
      [0, 1, -1, 8, -8, 1],
    ],
  },
};

/** Winograd applies to 3×3 kernels of stride and dilation 1 (any padding, groups and batch). */
export function winogradApplies(geo: ConvGeometry): boolean {
  return geo.kh === 3 && geo.kw === 3 && geo.sh === 1 && geo.sw === 1 && geo.dh === 1 && geo.dw === 1;
}

/** How many values {@link winogradWeights} writes for weights of `shape`: α² planes of o·cg. */
export function winogradWeightCount(
  shape: readonly [number, number, number, number],
  block: WinogradBlock,
): number {
  const alpha = block + 2;
  return alpha * alpha * shape[0] * shape[1];
}

/**
 * The layer's transformed weights U[ξ][g][c][o] (ξ over α×α) from OIHW 3×3 weights, as (G·k)·Gᵀ per
 * kernel k; written into `out` when given (of {@link winogradWeightCount} values, e.g. a buffer's
 * mapped memory, so a large transform is written once instead of allocated and copied).
 */
export function winogradWeights(
  weights: Float32Array,
  shape: readonly [number, number, number, number],
  groups: number,
  block: WinogradBlock,
  out: Float32Array = new Float32Array(winogradWeightCount(shape, block)),
): Float32Array {
  const [o, cg, kh, kw] = shape;
  if (kh !== 3 || kw !== 3 || weights.length !== o * cg * 9 || o % groups !== 0)
    throw new GpuError(
      'invalid-argument',
      `Winograd needs 3×3 weights [o, c/groups, 3, 3] with o divisible by ${groups} groups, got [${shape.join(', ')}].`,
    );
  if (out.length !== winogradWeightCount(shape, block))
    throw new GpuError(
      'invalid-argument',
      `Winograd weights of [${shape.join(', ')}] for ${block}×${block} blocks take ${winogradWeightCount(shape, block)} values, the output given holds ${out.length}.`,
    );
  const g = Float64Array.from(TRANSFORMS[block].g.flat());
  const alpha = block + 2;
  const og = o / groups;
  // U[ξ] planes hold o·cg values each, in order [grp][c][m]
  const plane = o * cg;
  // Row i of G·k of every kernel, in f64 like the product that follows, in U's order: U is then
  // written plane after plane, 1.5× faster for F(4×4) on VGG-16 than scattering each kernel's α²
  // values over the α² planes.
  const gk = new Float64Array(plane * 3);
  for (let i = 0; i < alpha; i++) {
    const g0 = g[i * 3]!;
    const g1 = g[i * 3 + 1]!;
    const g2 = g[i * 3 + 2]!;
    for (let grp = 0, e = 0; grp < groups; grp++)
      for (let c = 0; c < cg; c++)
        for (let m = 0; m < og; m++, e += 3) {
          const kb = ((grp * og + m) * cg + c) * 9;
          gk[e] = g0 * weights[kb]! + g1 * weights[kb + 3]! + g2 * weights[kb + 6]!;
          gk[e + 1] = g0 * weights[kb + 1]! + g1 * weights[kb + 4]! + g2 * weights[kb + 7]!;
          gk[e + 2] = g0 * weights[kb + 2]! + g1 * weights[kb + 5]! + g2 * weights[kb + 8]!;
        }
    // U[i·α + j] = (G·k)ᵢ · Gⱼᵀ
    for (let j = 0; j < alpha; j++) {
      const h0 = g[j * 3]!;
      const h1 = g[j * 3 + 1]!;
      const h2 = g[j * 3 + 2]!;
      const base = (i * alpha + j) * plane;
      for (let e = 0; e < plane; e++)
        out[base + e] = gk[e * 3]! * h0 + gk[e * 3 + 1]! * h1 + gk[e * 3 + 2]! * h2;
    }
  }
  return out;
}

/** `Σ coef·term` of the non-zero coefficients, as a WGSL expression. */
function combination(coefs: readonly number[], term: (i: number) => string): string {
  const parts = coefs.flatMap((c, i) =>
    c === 0 ? [] : [c === 1 ? term(i) : c === -1 ? `-${term(i)}` : `${f(c)} * ${term(i)}`],
  );
  return parts.length === 0 ? '0.0' : parts.join(' + ');
}

/** Statements computing `out_i_j = Σ L[i][k]·in_k_l·R[j][l]` (L·in·Rᵀ), unrolled over the non-zero coefficients. */
function sandwich(
  left: readonly (readonly number[])[],
  right: readonly (readonly number[])[],
  input: string,
  out: string,
): string {
  const mid = left.flatMap((row, i) =>
    right[0]!.map((_, l) => `let t${i}_${l} = ${combination(row, (k) => `${input}${k}_${l}`)};`),
  );
  const res = left.flatMap((_, i) =>
    right.map((row, j) => `let ${out}${i}_${j} = ${combination(row, (l) => `t${i}_${l}`)};`),
  );
  return [...mid, ...res].join('\n  ');
}

/** Output blocks per image along rows and columns, and tiles (blocks of all images) in all. */
function blocks(geo: ConvGeometry, block: WinogradBlock) {
  const th = Math.ceil(geo.ho / block);
  const tw = Math.ceil(geo.wo / block);
  return { th, tw, tiles: geo.n * th * tw };
}

interface WinogradSpec {
  readonly geo: ConvGeometry;
  readonly block: WinogradBlock;
  /** The GEMM's tile depends on the adapter (`Gpu.software`), and the output transform on its k splits. */
  readonly software: boolean;
}

/** V[ξ][c][tile] = (Bᵀ d B)[ξ] of each input channel's (m+2)² patch, zero outside the input. */
const INPUT_TRANSFORM: Program<WinogradSpec> = {
  name: 'winograd-input',
  wgsl: ({ geo, block }) => {
    const { bt } = TRANSFORMS[block];
    const alpha = bt.length;
    const { th, tw, tiles } = blocks(geo, block);
    const loads = bt.flatMap((_, i) => bt.map((_, j) => `let d${i}_${j} = at(plane, iy + ${i}, ix + ${j});`));
    const stores = bt.flatMap((_, i) =>
      bt.map((_, j) => `v[${u((i * alpha + j) * geo.c * tiles)} + e] = r${i}_${j};`),
    );
    return elementwiseWgsl(
      `${bindings([
        ['x', 'array<f32>', 'read'],
        ['v', 'array<f32>', 'read_write'],
      ])}
/** Input value at row iy, column ix of a channel plane, or 0 in the padding. */
fn at(plane: u32, iy: i32, ix: i32) -> f32 {
  if (iy < 0 || iy >= ${geo.h} || ix < 0 || ix >= ${geo.w}) { return 0.0; }
  return x[plane + u32(iy) * ${u(geo.w)} + u32(ix)];
}`,
      u(geo.c * tiles),
      `let t = e % ${u(tiles)};
  let c = e / ${u(tiles)};
  let n = t / ${u(th * tw)};
  let iy = i32(((t / ${u(tw)}) % ${u(th)}) * ${u(block)}) - ${geo.pt};
  let ix = i32((t % ${u(tw)}) * ${u(block)}) - ${geo.pl};
  let plane = (n * ${u(geo.c)} + c) * ${u(geo.h * geo.w)};
  ${loads.join('\n  ')}
  ${sandwich(bt, bt, 'd', 'r')}
  ${stores.join('\n  ')}`,
    );
  },
};

/** The α² GEMMs M[ξ][o][tile] = Σ_c U[ξ][g][c][o]·V[ξ][g·cg + c][tile], one batch entry per (ξ, group). */
function winogradGemm(geo: ConvGeometry, block: WinogradBlock, software: boolean) {
  const alpha = block + 2;
  const shape: GemmShape = {
    m: geo.og,
    n: blocks(geo, block).tiles,
    k: geo.cg,
    batches: alpha * alpha * geo.groups,
  };
  const tile = chooseGemmTile(shape, 'km', software);
  return { shape, tile, splits: gemmSplits(shape, tile) };
}

const GEMM: Program<WinogradSpec & { readonly maxDim: number }> = {
  name: 'winograd-gemm',
  wgsl: ({ geo, block, maxDim, software }) => {
    const { shape, tile, splits } = winogradGemm(geo, block, software);
    const [nx] = grid(gemmTiles(shape, tile) * splits, maxDim);
    const { m, n, k, batches } = shape;
    return tiledGemmWgsl(shape, tile, splits, nx, {
      decls: bindings([
        ['uw', 'array<f32>', 'read'],
        ['v', 'array<f32>', 'read'],
        ['mt', 'array<f32>', 'read_write'],
      ]),
      aLayout: 'km',
      loadA: (b, mm, kk) => `uw[(${b} * ${u(k)} + ${kk}) * ${u(m)} + ${mm}]`,
      colSetup: (_, col) => `let tile = ${col};`,
      loadB: (b, kk) => `v[(${b} * ${u(k)} + ${kk}) * ${u(n)} + tile]`,
      store: (b, ks, mm, col, val) =>
        `mt[((${ks} * ${u(batches)} + ${b}) * ${u(m)} + ${mm}) * ${u(n)} + ${col}] = ${val};`,
    });
  },
};

/** Aᵀ M A + bias of each tile's α² products (summed over k splits) through the epilogue, written NCHW. */
const OUTPUT_TRANSFORM: Program<WinogradSpec & { readonly epilogue: Epilogue }> = {
  name: 'winograd-output',
  wgsl: ({ geo, block, epilogue, software }) => {
    const { at } = TRANSFORMS[block];
    const alpha = block + 2;
    const { th, tw, tiles } = blocks(geo, block);
    const { splits } = winogradGemm(geo, block, software);
    const plane = geo.o * tiles;
    const loads = at[0]!.flatMap((_, i) =>
      at[0]!.map((_, j) => {
        const first = `mt[${u((i * alpha + j) * plane)} + e]`;
        const rest = Array.from(
          { length: splits - 1 },
          (_, s) => ` + mt[${u(((s + 1) * alpha * alpha + i * alpha + j) * plane)} + e]`,
        );
        return `let q${i}_${j} = ${first}${rest.join('')};`;
      }),
    );
    const stores = at.flatMap((_, i) =>
      at.map(
        (_, j) => `if (oy + ${u(i)} < ${u(geo.ho)} && ox + ${u(j)} < ${u(geo.wo)}) {
    emit(out + (oy + ${u(i)}) * ${u(geo.wo)} + ox + ${u(j)}, r${i}_${j} + b0);
  }`,
      ),
    );
    return elementwiseWgsl(
      `${bindings([
        ['mt', 'array<f32>', 'read'],
        ['bias', 'array<f32>', 'read'],
        ...outputBindings(epilogue),
      ])}
${epilogueFns(epilogue)}`,
      u(plane),
      `let t = e % ${u(tiles)};
  let o = e / ${u(tiles)};
  let n = t / ${u(th * tw)};
  let oy = ((t / ${u(tw)}) % ${u(th)}) * ${u(block)};
  let ox = (t % ${u(tw)}) * ${u(block)};
  let out = (n * ${u(geo.o)} + o) * ${u(geo.ho * geo.wo)};
  let b0 = bias[o];
  ${loads.join('\n  ')}
  ${sandwich(at, at, 'q', 'r')}
  ${stores.join('\n  ')}`,
    );
  },
};

export interface WinogradBuffers extends ConvOutputBuffers {
  readonly x: GpuTensor;
  /** {@link winogradWeights} of the layer for the same block size. */
  readonly u: GpuTensor;
  readonly bias: GpuTensor;
}

/** Records a 3×3 stride-1 conv as Winograd F(block×block, 3×3): input transform, batched GEMM, output transform. */
export function encodeWinogradConv(
  r: Recorder,
  b: WinogradBuffers,
  geo: ConvGeometry,
  activation: Activation,
  block: WinogradBlock,
): void {
  if (!winogradApplies(geo))
    throw new GpuError(
      'invalid-argument',
      `Winograd needs a 3×3 kernel of stride and dilation 1, got ${geo.kh}×${geo.kw} stride ${geo.sh}×${geo.sw} dilation ${geo.dh}×${geo.dw}; use the implicit GEMM.`,
    );
  const alpha = block + 2;
  const { software } = r.gpu;
  const { shape, tile, splits } = winogradGemm(geo, block, software);
  const spec = { geo, block, software };
  const v = r.gpu.empty([alpha * alpha * geo.c * shape.n]);
  const mt = r.gpu.empty([splits * alpha * alpha * geo.o * shape.n]);
  dispatchElementwise(r, 'winograd-input', INPUT_TRANSFORM, spec, geo.c * shape.n, [b.x, v]);
  const maxDim = r.gpu.limits.maxComputeWorkgroupsPerDimension;
  r.dispatch(
    'winograd-gemm',
    r.gpu.pipeline(GEMM, { ...spec, maxDim }),
    [b.u, v, mt],
    grid(gemmTiles(shape, tile) * splits, maxDim),
  );
  dispatchElementwise(
    r,
    'winograd-output',
    OUTPUT_TRANSFORM,
    { ...spec, epilogue: epilogueOf(activation, b, geo) },
    geo.o * shape.n,
    [mt, b.bias, ...outputBuffers(b)],
  );
  // later dispatches that reuse the buffers run after these in queue order
  r.gpu.release(v);
  r.gpu.release(mt);
}

/** A fixed cost per dispatch, beside the work. */
export const DISPATCH_SECONDS = 3e-6;

/**
 * Estimated seconds of the conv as Winograd F(block×block, 3×3): transforms' traffic plus the GEMMs.
 * The estimates model a GPU's tiles, whatever the adapter.
 */
export function winogradSeconds(geo: ConvGeometry, block: WinogradBlock): number {
  const { shape, tile, splits } = winogradGemm(geo, block, false);
  const alpha2 = (block + 2) ** 2;
  // the transforms' traffic: input read, V written, M read (every split), output written
  const bytes =
    4 *
    (geo.n * geo.c * geo.h * geo.w +
      alpha2 * shape.n * (geo.c + splits * geo.o) +
      geo.n * geo.o * geo.ho * geo.wo);
  return gemmSeconds(shape, tile, 'km') + bytes / BYTES_PER_SECOND + 3 * DISPATCH_SECONDS;
}

/** Estimated seconds of the conv as implicit GEMM (k split where its tiles are few). */
export function implicitGemmSeconds(geo: ConvGeometry): number {
  const { shape, tile, splits } = convGemm(geo, convTile(geo, false));
  return gemmSeconds(shape, tile, 'mk') + (splits > 1 ? 2 : 1) * DISPATCH_SECONDS;
}

/**
 * F(4×4) needs this many output tiles (over the batch) to beat F(2×2): with fewer, its GEMMs have too
 * few columns to fill the GPU and it lost by up to 2× on an H100 (every 3×3 layer of the bench at
 * batch 1 below 56 columns: AlexNet conv4/5, VGG-16 conv4_2/5_2, GoogLeNet 3a/4a; ResNet-50 res5a at
 * batch 32, 128 tiles), while it won from 512 tiles on (the same layers at batch 32, VGG-16 at batch 1
 * up to conv3_2, 196 tiles).
 */
const F4_MIN_TILES = 192;

/** The Winograd block to run the conv with, or undefined where the implicit GEMM should be faster. */
export function chooseWinogradBlock(geo: ConvGeometry): WinogradBlock | undefined {
  if (!winogradApplies(geo)) return undefined;
  const candidates: WinogradBlock[] = blocks(geo, 4).tiles >= F4_MIN_TILES ? [2, 4] : [2];
  const best = candidates.reduce((a, b) => (winogradSeconds(geo, b) < winogradSeconds(geo, a) ? b : a));
  return winogradSeconds(geo, best) < implicitGemmSeconds(geo) ? best : undefined;
}
