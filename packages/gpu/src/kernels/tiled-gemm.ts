import { GpuError } from '../errors.js';
import { u, workgroupIndex } from '../wgsl.js';

// The one register-tiled SGEMM core behind every dense conv: C_b[m, col] = Σ_k A_b[m, k]·B_b[k, col]
// for a batch of GEMMs b, each workgroup one bm×bn tile of one GEMM (and one k split). Its callers
// differ only in how A and B are gathered and where C goes, so those are WGSL snippets they pass in.
// Why this shape: 256 threads of tm×tn outputs each keep 2·(tm+tn) shared-memory loads per
// tm·tn FMAs (8×8: 32 FMAs per 128-bit load); shared tiles are read as vec4 along m and along col,
// with thread (tx, ty) owning rows 4·(ty + TY·i) + 0..3 and columns 4·(tx + TX·j) + 0..3, so that a
// warp reads consecutive vec4s (no bank conflicts) and every index into the accumulators is a
// constant (they stay in registers). The next k slice is fetched from global memory into registers
// while the current one is multiplied, so the loads' latency hides behind the FMAs. Each thread's
// B column is the same for every slice (256 is a multiple of bn), so a gather such as im2col works
// out its per-column state once (`colSetup`) instead of once per element.
// A GEMM with few tiles (a batch-1 layer on a small map) leaves most of the GPU idle and is bound by
// its serial k loop: one global-load latency per slice. Such a tile may split its threads into `kg`
// k groups that walk every kg-th slice of the same output tile, each in its own shared tiles, and add
// their sums in workgroup memory at the end, which divides the loop without a second dispatch.

/** A workgroup's output tile (bm × bn), its k slice depth and each thread's outputs (tm × tn). */
export interface GemmTile {
  readonly bm: number;
  readonly bn: number;
  readonly bk: number;
  readonly tm: number;
  readonly tn: number;
  /** K groups of the workgroup's threads (1 when left out): each walks every kg-th k slice. */
  readonly kg?: number;
}

const THREADS = 256;

/** The k groups of a tile's threads: 1 for a tile that names none. */
export const kGroups = (t: GemmTile): number => t.kg ?? 1;

/** The tiles a GEMM is run with; every one has 256 threads and vec4-wide rows and columns. */
export const GEMM_TILES = {
  /** Big GEMMs: the fewest loads per FMA. */
  large: { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 },
  /** Few output channels (64 per group in VGG's and ResNet's first stages). */
  wide: { bm: 64, bn: 128, bk: 8, tm: 4, tn: 8 },
  /** Few rows and few columns. */
  medium: { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 },
  /** GEMMs that do not fill the GPU (batch-1 layers on small maps): a 32×32 tile in 4 k groups. */
  small: { bm: 32, bn: 32, bk: 8, tm: 4, tn: 4, kg: 4 },
  /** Few columns (batch-1 layers on small maps, Winograd at batch 1). */
  narrowN: { bm: 128, bn: 32, bk: 16, tm: 4, tn: 4 },
  /** Very few rows (layers with 32 or fewer output channels per group). */
  narrowM: { bm: 32, bn: 128, bk: 16, tm: 4, tn: 4 },
} as const satisfies Record<string, GemmTile>;

export type GemmTileName = keyof typeof GEMM_TILES;

/** Sizes of a batch of equal GEMMs. */
export interface GemmShape {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly batches: number;
}

/** Workgroups of one k split: tiles of every GEMM of the batch. */
export function gemmTiles(s: GemmShape, t: GemmTile): number {
  return Math.ceil(s.m / t.bm) * Math.ceil(s.n / t.bn) * s.batches;
}

/**
 * Workgroups a large GPU runs at once: an H100 has 132 multiprocessors and fits two of these
 * workgroups on each (256 threads of up to 128 registers). Fewer leave it partly idle.
 */
const SLOTS = 264;

/** K slices (of the tile's depth) each k split keeps at least, so that the partial sums' traffic stays small beside the FMAs. */
const MIN_SPLIT_SLICES = 16;

/**
 * Splits of k for a GEMM with too few tiles to fill a GPU (a batch-1 layer such as ResNet-50's res5:
 * 512 × 49 outputs): partial sums go to a scratch buffer that a second pass reduces.
 */
export function gemmSplits(s: GemmShape, t: GemmTile): number {
  const tiles = gemmTiles(s, t);
  if (tiles >= SLOTS / 2) return 1;
  const depth = t.bk * kGroups(t);
  return Math.max(1, Math.min(Math.ceil(SLOTS / tiles), Math.floor(s.k / (MIN_SPLIT_SLICES * depth))));
}

/** How A is laid out: `mk` with k contiguous (OIHW weights), `km` with m contiguous (pre-transposed). */
export type ALayout = 'mk' | 'km';

/**
 * Sustained fp32 FMA rate of a tile when the GPU is full, in FLOP/s, as measured on an H100 through
 * Dawn/Vulkan (4096³): narrow tiles load more per FMA, and an `mk` A tile 16 deep is stored to shared
 * memory with bank conflicts. To be measured again on other GPUs.
 */
function tileRate(t: GemmTile, a: ALayout): number {
  if (t.tm * t.tn >= 32) return 29e12;
  if (t.bm === t.bn) return a === 'km' ? 29e12 : 21e12;
  return a === 'km' ? 25e12 : t.bn < t.bm ? 15e12 : 23e12;
}

/** About an H100's DRAM and L2 streaming rates, for memory-bound estimates. */
export const BYTES_PER_SECOND = 2.5e12;
const L2_BYTES_PER_SECOND = 7e12;

/**
 * Estimated seconds of the GEMM: its padded work in whole waves of workgroups, or, where that is
 * less, its traffic: A, B and C once from DRAM, and A again for every further column tile and B
 * for every further row tile from L2 (few columns, as in Winograd at batch 1, make A's re-reads
 * the bound), plus the k split's partial sums.
 */
export function gemmSeconds(s: GemmShape, t: GemmTile, a: ALayout): number {
  const splits = gemmSplits(s, t);
  const wgs = gemmTiles(s, t) * splits;
  const perGroup = 2 * t.bm * t.bn * Math.ceil(Math.ceil(s.k / splits) / t.bk) * t.bk;
  const compute = (Math.ceil(wgs / SLOTS) * SLOTS * perGroup) / tileRate(t, a);
  const [tilesM, tilesN] = [Math.ceil(s.m / t.bm), Math.ceil(s.n / t.bn)];
  const dram = 4 * s.batches * (s.m * s.k + s.k * s.n + s.m * s.n * splits);
  const l2 = 4 * s.batches * (s.m * s.k * (tilesN - 1) + s.k * s.n * (tilesM - 1));
  const partials = splits > 1 ? (4 * (splits + 1) * s.m * s.n * s.batches) / BYTES_PER_SECOND : 0;
  return Math.max(compute, dram / BYTES_PER_SECOND + l2 / L2_BYTES_PER_SECOND) + partials;
}

/**
 * The tile of least estimated time for the GEMM. On a software adapter (`software`), always the 64×64
 * tile: Chromium's SwiftShader loses the device on the larger and the narrow tiles, and a CPU gains
 * nothing from register tiling sized for a GPU's register file. A tile in k groups is a candidate only
 * where its workgroups fit in one wave: it serves latency, and its small tile loads more per FMA.
 */
export function chooseGemmTile(s: GemmShape, a: ALayout, software = false): GemmTile {
  if (software) return GEMM_TILES.medium;
  return Object.values(GEMM_TILES)
    .filter((t: GemmTile) => kGroups(t) === 1 || gemmTiles(s, t) * gemmSplits(s, t) <= SLOTS)
    .reduce<GemmTile>(
      (best, t) => (gemmSeconds(s, t, a) < gemmSeconds(s, best, a) ? t : best),
      GEMM_TILES.large,
    );
}

/** How a caller's GEMM reads its operands and writes its result, as WGSL. */
export interface GemmOperands {
  /** Bindings and helper functions. */
  readonly decls: string;
  readonly aLayout: ALayout;
  /** A_b[m, k] for in-range m and k (u32 expressions `b`, `m`, `k`). */
  loadA(b: string, m: string, k: string): string;
  /** Statements run once per thread for its B column `col` (< n): state for {@link loadB}. */
  colSetup(b: string, col: string): string;
  /** B_b[k, col] for in-range k, with the thread's {@link colSetup} state in scope. */
  loadB(b: string, k: string): string;
  /** Statements writing C_b[m, col] = `v` (in range) of k split `ks`. */
  store(b: string, ks: string, m: string, col: string, v: string): string;
}

/**
 * Why a tile cannot run on the core with A laid out as `a`, or undefined: its threads, loads and shared
 * sums must fit the workgroup. Each thread loads A and B tiles at a fixed index along their contiguous
 * side (A's depth for `mk`, its rows for `km`; B's columns) and steps along the other.
 */
export function gemmTileProblem(t: GemmTile, a: ALayout): string | undefined {
  const kg = kGroups(t);
  const threads = THREADS / kg;
  if (!Number.isInteger(threads) || (t.bm / t.tm) * (t.bn / t.tn) !== threads)
    return `its ${t.bm}×${t.bn} outputs in ${t.tm}×${t.tn} per thread need ${threads} threads per k group`;
  if (t.tm % 4 || t.tn % 4) return 'its outputs per thread must be whole vec4s';
  const aContiguous = a === 'mk' ? t.bk : t.bm;
  if (threads % aContiguous || threads % t.bn || (t.bm * t.bk) % threads || (t.bn * t.bk) % threads)
    return `its A (${a}) and B tiles do not split evenly over the ${threads} threads of a k group`;
  if (kg > 1 && t.bn > kg * t.bk) return `its k groups' sums (${t.bm}×${t.bn}) do not fit its shared A tiles`;
  return undefined;
}

/** WGSL of the batched GEMM `s` in `splits` k splits, run as {@link gemmTiles}·splits workgroups (spread by `grid()` nx wide). */
export function tiledGemmWgsl(
  s: GemmShape,
  t: GemmTile,
  splits: number,
  nx: number,
  ops: GemmOperands,
): string {
  const problem = gemmTileProblem(t, ops.aLayout);
  if (problem)
    throw new GpuError('invalid-argument', `GEMM tile ${JSON.stringify(t)} cannot run: ${problem}.`);
  const { bm, bn, bk, tm, tn } = t;
  const kg = kGroups(t);
  // threads of one k group; `lg` is a thread's index in its group, `g` its group
  const threads = THREADS / kg;
  const tx = bn / tn;
  const ty = bm / tm;
  const tilesN = Math.ceil(s.n / bn);
  const tilesM = Math.ceil(s.m / bm);
  const total = gemmTiles(s, t) * splits;
  const chunk = Math.ceil(Math.ceil(s.k / splits) / bk) * bk;
  const loadsA = (bm * bk) / threads;
  const loadsB = (bn * bk) / threads;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  // a k group's shared tiles, in vec4s from its offsets ga and gb
  const [aVecs, bVecs] = [(bk * bm) / 4, (bk * bn) / 4];
  const [ga, gb] = kg > 1 ? ['ga + ', 'gb + '] : ['', ''];
  // element j of this thread's share of a tile: fixed minor index, major index stepping by threads/minor
  const aAt = (j: number) =>
    ops.aLayout === 'mk'
      ? { m: `lg / ${u(bk)} + ${u(j * (threads / bk))}`, k: `lg % ${u(bk)}` }
      : { m: `lg % ${u(bm)}`, k: `lg / ${u(bm)} + ${u(j * (threads / bm))}` };
  const bRow = (j: number) => `lg / ${u(bn)} + ${u(j * (threads / bn))}`;
  const fetch = (k0: string) =>
    [
      ...range(loadsA).map((j) => {
        const { m, k } = aAt(j);
        return `{ let m = m0 + ${m}; let k = ${k0} + ${k};
      ra[${j}] = select(0.0, ${ops.loadA('b', `min(m, ${u(s.m - 1)})`, `min(k, ${u(s.k - 1)})`)}, m < ${u(s.m)} && k < kEnd); }`;
      }),
      ...range(loadsB).map(
        (j) => `{ let k = ${k0} + ${bRow(j)};
      rb[${j}] = select(0.0, ${ops.loadB('b', `min(k, ${u(s.k - 1)})`)}, colOk && k < kEnd); }`,
      ),
    ].join('\n    ');
  const toShared = [
    ...range(loadsA).map((j) => {
      const { m, k } = aAt(j);
      return `{ let e = (${k}) * ${u(bm)} + ${m}; As[${ga}e / 4u][e % 4u] = ra[${j}]; }`;
    }),
    ...range(loadsB).map(
      (j) => `{ let e = (${bRow(j)}) * ${u(bn)} + lg % ${u(bn)}; Bs[${gb}e / 4u][e % 4u] = rb[${j}]; }`,
    ),
  ].join('\n    ');
  const qn = tn / 4;
  const sums = (tm * tn) / 4;
  const product = [
    ...range(tm / 4).map((i) => `let a${i} = As[${ga}kk * ${u(bm / 4)} + ty + ${u(ty * i)}];`),
    ...range(qn).map((j) => `let b${j} = Bs[${gb}kk * ${u(bn / 4)} + tx + ${u(tx * j)}];`),
    ...range(tm).flatMap((r) =>
      range(qn).map(
        (j) => `acc[${r * qn + j}] = fma(vec4f(a${Math.floor(r / 4)}[${r % 4}]), b${j}, acc[${r * qn + j}]);`,
      ),
    ),
  ].join('\n      ');
  // groups 1..kg−1 hand their sums to group 0 in turn, through the (free) shared A tiles
  const addGroups = range(kg - 1)
    .map(
      (
        r,
      ) => `if (g == ${u(r + 1)}) { for (var i = 0u; i < ${u(sums)}; i++) { As[i * ${u(threads)} + lg] = acc[i]; } }
  workgroupBarrier();
  if (g == 0u) { for (var i = 0u; i < ${u(sums)}; i++) { acc[i] += As[i * ${u(threads)} + lg]; } }
  workgroupBarrier();`,
    )
    .join('\n  ');
  const epilogue = range(tm)
    .flatMap((r) =>
      range(qn).flatMap((j) =>
        range(4).map(
          (d) => `{ let m = m0 + ${u(4 * Math.floor(r / 4) * ty + (r % 4))} + 4u * ty;
    let col = p0 + 4u * tx + ${u(4 * tx * j + d)};
    if (m < ${u(s.m)} && col < ${u(s.n)}) { ${ops.store('b', 'ks', 'm', 'col', `acc[${r * qn + j}][${d}]`)} } }`,
        ),
      ),
    )
    .join('\n  ');
  return /* wgsl */ `
${ops.decls}
var<workgroup> As: array<vec4f, ${kg * aVecs}>;
var<workgroup> Bs: array<vec4f, ${kg * bVecs}>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  if (wg >= ${u(total)}) { return; }
  let p0 = (wg % ${u(tilesN)}) * ${u(bn)};
  let m0 = ((wg / ${u(tilesN)}) % ${u(tilesM)}) * ${u(bm)};
  let b = (wg / ${u(tilesN * tilesM)}) % ${u(s.batches)};
  let ks = wg / ${u(tilesN * tilesM * s.batches)};${
    kg > 1
      ? `
  let g = li / ${u(threads)};
  let lg = li % ${u(threads)};
  let ga = g * ${u(aVecs)};
  let gb = g * ${u(bVecs)};`
      : `
  let lg = li;`
  }
  let tx = lg % ${u(tx)};
  let ty = lg / ${u(tx)};
  let colOk = p0 + lg % ${u(bn)} < ${u(s.n)};
  ${ops.colSetup('b', `min(p0 + lg % ${u(bn)}, ${u(s.n - 1)})`)}
  let kBegin = ks * ${u(chunk)};
  let kEnd = min(${u(s.k)}, kBegin + ${u(chunk)});
  // this split's slices (none where the last splits hold no k)
  let slices = select(0u, (kEnd - kBegin + ${u(bk - 1)}) / ${u(bk)}, kEnd > kBegin);
  let kFirst = kBegin${kg > 1 ? ` + g * ${u(bk)}` : ''};
  var ra: array<f32, ${loadsA}>;
  var rb: array<f32, ${loadsB}>;
  var acc: array<vec4f, ${sums}>;
  ${fetch('kFirst')}
  ${toShared}
  workgroupBarrier();
  for (var s0 = 0u; s0 < slices; s0 += ${u(kg)}) {
    let k0 = kFirst + s0 * ${u(bk)};
    let more = s0 + ${u(kg)} < slices;
    if (more) {
    ${fetch(`k0 + ${u(kg * bk)}`)}
    }
    for (var kk = 0u; kk < ${u(bk)}; kk++) {
      ${product}
    }
    workgroupBarrier();
    if (more) {
    ${toShared}
    }
    workgroupBarrier();
  }
  ${
    kg > 1
      ? `${addGroups}
  if (g != 0u) { return; }`
      : ''
  }
  ${epilogue}
}`;
}
