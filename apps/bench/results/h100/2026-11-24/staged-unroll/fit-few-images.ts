// Replays the planner at batch 1 on conv-crossover times (crossover-b1-call11.json) for a grid of
// few-images (fixed, rate) costs: each network's convs' time over dense at each sparsity, best first
// among those never slower than dense. Run from apps/bench/src, bundled as the bench is.
import { readFileSync } from 'node:fs';
import { convGeometry, denseConvSeconds, sparseConvAlgorithm } from '@zeroskip/gpu';
import { networkConvs } from '../tables/conv-crossover.js';
import { zooGraph } from '../zoo-graphs.js';

type Row = { case: string; metric: string; value: number; params: Record<string, unknown> };
const rows: Row[] = process.argv.slice(2).flatMap((f) => JSON.parse(readFileSync(f, 'utf8')).tables[0].results);
const times = new Map<string, number>();
for (const r of rows)
  if (r.metric === 'time') times.set(`${r.case}|${r.params.algorithm}|${r.params.sparsity}`, r.value);
const nets = [...new Set(rows.map((r) => r.params.network as string).filter(Boolean))];
const sparsities = [0.5, 0.6, 0.7, 0.8, 0.9];
const convs = nets.flatMap((n) =>
  networkConvs(n, zooGraph(n, 42)).map((c) => ({ ...c, geo: convGeometry([1, ...c.input.slice(1)], c.weights, c.params) })),
);
const at = (c: (typeof convs)[number], a: string, s: number) =>
  times.get(`${c.network} ${c.name}|${a}|${a === 'implicit-gemm' ? 0.5 : s}`) ?? Number.POSITIVE_INFINITY;
function evaluate(fixed: number, rate: number) {
  const out: Record<string, number[]> = {};
  let worst = Number.POSITIVE_INFINITY;
  let total = 0;
  for (const n of nets)
    out[n] = sparsities.map((s) => {
      let dense = 0;
      let chosen = 0;
      for (const c of convs.filter((c) => c.network === n)) {
        const pick = sparseConvAlgorithm(c.geo);
        const est = fixed + (2 * (1 - s) * c.geo.o * c.geo.k * c.geo.n * c.geo.ho * c.geo.wo) / rate;
        const d = at(c, 'implicit-gemm', s);
        dense += c.count * d;
        chosen += c.count * (est < 1.15 * denseConvSeconds(c.geo) ? at(c, pick, s) : d);
      }
      worst = Math.min(worst, dense / chosen);
      total += Math.log(dense / chosen);
      return dense / chosen;
    });
  return { out, worst, total };
}
const base = evaluate(15e-6, 2e12);
console.log('current', base.worst.toFixed(4), base.total.toFixed(4), Object.entries(base.out).map(([n, v]) => `${n} ${v.map((y) => y.toFixed(3)).join('/')}`).join('  '));
const res = [];
for (const f of [4, 6, 8, 10, 12, 15, 20].map((x) => x * 1e-6))
  for (const r of [1, 1.5, 2, 2.5, 3, 4, 5].map((x) => x * 1e12)) res.push({ f, r, ...evaluate(f, r) });
res.sort((a, b) => (b.worst >= 0.999 ? 1 : 0) - (a.worst >= 0.999 ? 1 : 0) || b.total - a.total);
for (const x of res)
  console.log((x.f * 1e6).toFixed(0), (x.r / 1e12).toFixed(1), x.worst.toFixed(4), x.total.toFixed(4), Object.entries(x.out).map(([n, v]) => `${n} ${v.map((y) => y.toFixed(3)).join('/')}`).join('  '));
