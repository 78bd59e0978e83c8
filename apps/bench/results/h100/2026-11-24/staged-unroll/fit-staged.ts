// Refits the planner's sparse costs from conv-crossover results (the crossover-before-*.json files):
// for a grid of staged (fixed, rate) and pointwise-tiled (fixed, rate) costs, the planner's choice per
// conv and each network's convs' time over dense at each sparsity, best first among those never slower
// than dense. POINTWISE=1 applies cea8a9b's rule for 1×1 convs (tiled from PWMIN columns on, default
// 14; direct below); without it, 1×1 convs are staged as at 239d8fd. DETAIL=1 lists each staged conv.
// Run from apps/bench/src with the crossover JSON files as arguments, bundled as the bench is.
import { readFileSync } from 'node:fs';
import { type ConvAlgorithm, convGeometry, denseConvSeconds, sparseConvAlgorithm, sparseConvSeconds } from '@zeroskip/gpu';
import { networkConvs } from '../tables/conv-crossover.js';
import { zooGraph } from '../zoo-graphs.js';

type Row = { case: string; metric: string; value: number; params: Record<string, unknown> };
const rows: Row[] = process.argv.slice(2).flatMap((f) => JSON.parse(readFileSync(f, 'utf8')).tables[0].results);
const times = new Map<string, number>();
for (const r of rows)
  if (r.metric === 'time') times.set(`${r.case}|${r.params.algorithm}|${r.params.sparsity}`, r.value);
const nets = [...new Set(rows.map((r) => r.params.network as string).filter(Boolean))];
const sparsities = [0.7, 0.8, 0.9];
const convs = nets.flatMap((n) =>
  networkConvs(n, zooGraph(n, 42)).map((c) => ({ ...c, geo: convGeometry([32, ...c.input.slice(1)], c.weights, c.params) })),
);
const at = (c: (typeof convs)[number], a: string, s: number) =>
  times.get(`${c.network} ${c.name}|${a}|${a === 'implicit-gemm' ? 0.7 : s}`) ?? Number.POSITIVE_INFINITY;

function evaluate(fixed: number, rate: number, pf = 50e-6, pr = 3e12) {
  const out: Record<string, number[]> = {};
  let worst = Number.POSITIVE_INFINITY;
  let total = 0;
  for (const n of nets)
    out[n] = sparsities.map((s) => {
      let dense = 0;
      let chosen = 0;
      for (const c of convs.filter((c) => c.network === n)) {
        let pick: ConvAlgorithm = sparseConvAlgorithm(c.geo);
        const pw = c.geo.kh * c.geo.kw === 1;
        if (process.env.POINTWISE && pw)
          pick = c.geo.sh * c.geo.sw === 1 && c.geo.wo >= Number(process.env.PWMIN ?? 14) ? 'sparse-tiled' : c.geo.wo >= 56 ? 'sparse-tiled' : 'direct-sparse';
        const d = at(c, 'implicit-gemm', s);
        const est =
          pick === 'sparse-staged'
            ? fixed + (2 * (1 - s) * c.geo.o * c.geo.k * c.geo.n * c.geo.ho * c.geo.wo) / rate
            : process.env.POINTWISE && pw && c.geo.sh * c.geo.sw === 1 && pick === 'sparse-tiled'
              ? pf + (2 * (1 - s) * c.geo.o * c.geo.k * c.geo.n * c.geo.ho * c.geo.wo) / pr
              : sparseConvSeconds(c.geo, 1 - s, false);
        const sparse = est < 1.15 * denseConvSeconds(c.geo);
        dense += c.count * d;
        chosen += c.count * (sparse ? at(c, pick, s) : d);
      }
      worst = Math.min(worst, dense / chosen);
      total += Math.log(dense / chosen);
      return dense / chosen;
    });
  return { out, worst, total };
}
const base = evaluate(50e-6, 3e12);
console.log('current', JSON.stringify(base.out), base.worst.toFixed(4));
const res = [];
for (const f of [10, 20, 30, 40, 50, 60].map((x) => x * 1e-6))
  for (const r of [3, 4, 5, 6, 7, 8, 9, 10].map((x) => x * 1e12))
    for (const pf of process.env.POINTWISE ? [5, 10, 15, 20, 30].map((x) => x * 1e-6) : [50e-6])
      for (const pr of process.env.POINTWISE ? [2, 2.5, 3, 3.5, 4, 5].map((x) => x * 1e12) : [3e12])
        res.push({ f, r, pf, pr, ...evaluate(f, r, pf, pr) });
res.sort((a, b) => (b.worst >= 0.999 ? 1 : 0) - (a.worst >= 0.999 ? 1 : 0) || b.total - a.total);
for (const x of res)
  console.log((x.f * 1e6).toFixed(0), (x.r / 1e12).toFixed(0), (x.pf * 1e6).toFixed(0), (x.pr / 1e12).toFixed(1), x.worst.toFixed(4), x.total.toFixed(4), Object.entries(x.out).map(([n, v]) => `${n} ${v.map((y) => y.toFixed(3)).join('/')}`).join('  '));
if (process.env.DETAIL)
  for (const c of convs) {
    if (sparseConvAlgorithm(c.geo) !== 'sparse-staged') continue;
    const s = 0.8;
    const fl = 2 * (1 - s) * c.geo.o * c.geo.k * c.geo.n * c.geo.ho * c.geo.wo;
    const st = at(c, 'sparse-staged', s) / 1e3;
    console.log(
      `${c.network} ${c.name}`.padEnd(28),
      `${c.geo.c}x${c.geo.h}->${c.geo.o} k${c.geo.kh} s${c.geo.sh} x${c.count}`.padEnd(22),
      'staged', (st * 1e3).toFixed(3), 'dense', at(c, 'implicit-gemm', s).toFixed(3), 'est dense', (1.15 * denseConvSeconds(c.geo) * 1e3).toFixed(3),
      'TF/s', (fl / st / 1e12).toFixed(1),
    );
  }
