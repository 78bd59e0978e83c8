import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from '../conformance/data.js';
import { type Gpu, type Program, requestDevice } from '../device.js';
import { GpuError } from '../errors.js';
import { grid } from '../recorder.js';
import { bindings, u } from '../wgsl.js';
import {
  type ALayout,
  chooseGemmTile,
  GEMM_TILES,
  type GemmShape,
  type GemmTile,
  gemmTileProblem,
  gemmTiles,
  kGroups,
  tiledGemmWgsl,
} from './tiled-gemm.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu.destroy());

interface Spec {
  readonly shape: GemmShape;
  readonly tile: GemmTile;
  readonly splits: number;
  readonly aLayout: ALayout;
}

/** A plain batched GEMM on the core: A [b][m][k] or [b][k][m], B [b][k][n], partial C [split][b][m][n]. */
const PLAIN: Program<Spec> = {
  name: 'test-gemm',
  wgsl: ({ shape: s, tile, splits, aLayout }) =>
    tiledGemmWgsl(s, tile, splits, 65535, {
      decls: bindings([
        ['a', 'array<f32>', 'read'],
        ['bm', 'array<f32>', 'read'],
        ['c', 'array<f32>', 'read_write'],
      ]),
      aLayout,
      loadA: (b, m, k) =>
        aLayout === 'mk'
          ? `a[(${b} * ${u(s.m)} + ${m}) * ${u(s.k)} + ${k}]`
          : `a[(${b} * ${u(s.k)} + ${k}) * ${u(s.m)} + ${m}]`,
      colSetup: (_, col) => `let col = ${col};`,
      loadB: (b, k) => `bm[(${b} * ${u(s.k)} + ${k}) * ${u(s.n)} + col]`,
      store: (b, ks, m, col, v) =>
        `c[((${ks} * ${u(s.batches)} + ${b}) * ${u(s.m)} + ${m}) * ${u(s.n)} + ${col}] = ${v};`,
    }),
};

async function runGemm(spec: Spec, seed: number): Promise<void> {
  const { m, n, k, batches } = spec.shape;
  const a = randomArray(batches * m * k, seed);
  const b = randomArray(batches * k * n, seed + 1);
  const ta = gpu.tensor([a.length], a);
  const tb = gpu.tensor([b.length], b);
  const tc = gpu.empty([spec.splits * batches * m * n]);
  await gpu.submit((r) =>
    r.dispatch(
      'test-gemm',
      gpu.pipeline(PLAIN, spec),
      [ta, tb, tc],
      grid(gemmTiles(spec.shape, spec.tile) * spec.splits, 65535),
    ),
  );
  const part = await gpu.read(tc);
  for (const t of [ta, tb, tc]) gpu.release(t);
  let worst = 0;
  for (let bi = 0; bi < batches; bi++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let want = 0;
        for (let kk = 0; kk < k; kk++) {
          const av = spec.aLayout === 'mk' ? a[(bi * m + i) * k + kk]! : a[(bi * k + kk) * m + i]!;
          want += av * b[(bi * k + kk) * n + j]!;
        }
        let got = 0;
        for (let s = 0; s < spec.splits; s++) got += part[((s * batches + bi) * m + i) * n + j]!;
        worst = Math.max(worst, Math.abs(got - want));
      }
  // products of values in [−1, 1): the sum's error is a few ulps of √k
  expect(worst).toBeLessThan(8 * Math.sqrt(k) * 2 ** -24 * Math.sqrt(k));
}

const LAYOUTS = ['mk', 'km'] as const;

/** The shipped tiles, and layouts the core takes beside them, with the A layouts each runs with. */
const TILES: [string, GemmTile, readonly ALayout[]][] = [
  ...Object.entries(GEMM_TILES).map(([name, tile]): [string, GemmTile, readonly ALayout[]] => [
    name,
    tile,
    LAYOUTS,
  ]),
  ['64×32 in 2 k groups', { bm: 64, bn: 32, bk: 16, tm: 4, tn: 4, kg: 2 }, LAYOUTS],
  ['32×32 in 4 k groups, 16 deep', { bm: 32, bn: 32, bk: 16, tm: 4, tn: 4, kg: 4 }, LAYOUTS],
  // 96 rows do not divide 256 threads: only a k-major A tile (8 deep) splits evenly over them
  ['96×128 of 12 rows a thread', { bm: 96, bn: 128, bk: 8, tm: 12, tn: 4 }, ['mk']],
];

describe('tiled GEMM core', () => {
  it.each(TILES)(
    'matches a CPU GEMM on the %s tile, in the A layouts it takes, with and without k splits',
    async (_, tile, layouts) => {
      for (const a of LAYOUTS) expect(gemmTileProblem(tile, a) === undefined, a).toBe(layouts.includes(a));
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            m: fc.integer({ min: 1, max: 2 * tile.bm + 3 }),
            n: fc.integer({ min: 1, max: 2 * tile.bn + 3 }),
            k: fc.integer({ min: 1, max: 5 * tile.bk * kGroups(tile) + 3 }),
            batches: fc.integer({ min: 1, max: 3 }),
          }),
          fc.integer({ min: 1, max: 3 }),
          fc.constantFrom(...layouts),
          fc.integer({ min: 0, max: 1000 }),
          async (shape, splits, aLayout, seed) => runGemm({ shape, tile, splits, aLayout }, seed),
        ),
        { seed: 2026, numRuns: 2, endOnFailure: true },
      );
    },
    600_000,
  );

  it('takes the tile in k groups only for GEMMs whose workgroups it fits in one wave', () => {
    // Bi-Real ResNet-18's 256→512 1×1 downsample on 7×7: 17.6 µs on it at batch 1 on an H100, 30.7 on the wide tile
    const batch1 = { m: 512, n: 49, k: 256, batches: 1 };
    expect(chooseGemmTile(batch1, 'mk')).toBe(GEMM_TILES.small);
    expect(chooseGemmTile(batch1, 'mk', true)).toBe(GEMM_TILES.medium);
    // a 7×7 stride-2 stem of 32 channels on 224²: the estimate favours it, but it would take 392 workgroups
    expect(chooseGemmTile({ m: 32, n: 112 * 112, k: 147, batches: 1 }, 'mk').kg).toBeUndefined();
  });

  it('refuses a tile whose k groups cannot add their sums in its shared tiles', () => {
    const tile = { bm: 32, bn: 64, bk: 8, tm: 4, tn: 4, kg: 2 };
    expect(gemmTileProblem(tile, 'mk')).toMatch(/do not fit/);
    expect(() => tiledGemmWgsl({ m: 8, n: 8, k: 8, batches: 1 }, tile, 1, 65535, {} as never)).toThrow(
      GpuError,
    );
  });
});
