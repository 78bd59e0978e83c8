import type { BenchResult } from './results.js';

// Plain SVG charts from benchmark results: no dependencies, readable on GitHub.

const W = 760;
const H = 420;
const M = { l: 60, r: 210, t: 40, b: 50 };
const COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function frame(title: string, xLabel: string, yLabel: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<text x="${(M.l + W - M.r) / 2}" y="${H - 10}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="15" y="${(M.t + H - M.b) / 2}" text-anchor="middle" transform="rotate(-90 15 ${(M.t + H - M.b) / 2})">${esc(yLabel)}</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/**
 * Speedup of direct sparse convolution over a baseline against weight sparsity, one line per layer
 * (log scale), the break-even line at 1× and each layer's break-even sparsity marked.
 */
export function speedupChart(results: readonly BenchResult[], over: string, title: string): string {
  const rows = results.filter(
    (r) => r.metric.startsWith('speedup') && r.params.over === over && Number.isFinite(r.value),
  );
  const layers = [...new Set(rows.map((r) => r.case))];
  const sparsities = [...new Set(rows.map((r) => r.params.sparsity as number))].sort((a, b) => a - b);
  const values = rows.map((r) => r.value);
  const [lo, hi] = [Math.min(0.25, ...values), Math.max(4, ...values)];
  const x = (s: number) =>
    M.l + ((s - sparsities[0]!) / (sparsities.at(-1)! - sparsities[0]! || 1)) * (W - M.l - M.r);
  const y = (v: number) =>
    H - M.b - ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (H - M.t - M.b);
  const body: string[] = [];
  for (const t of [0.25, 0.5, 1, 2, 4, 8, 16].filter((t) => t >= lo && t <= hi)) {
    body.push(
      `<line x1="${M.l}" x2="${W - M.r}" y1="${y(t)}" y2="${y(t)}" stroke="${t === 1 ? '#000' : '#ddd'}" stroke-dasharray="${t === 1 ? '4 3' : ''}"/>`,
      `<text x="${M.l - 6}" y="${y(t) + 4}" text-anchor="end">${t}×</text>`,
    );
  }
  // ticks at the round sparsities only; layer-specific ones (SkimCaffe's) would collide
  for (const s of sparsities.filter((v) => Math.round(v * 20) === v * 20))
    body.push(`<text x="${x(s)}" y="${H - M.b + 16}" text-anchor="middle">${s}</text>`);
  layers.forEach((layer, i) => {
    const pts = rows
      .filter((r) => r.case === layer)
      .sort((a, b) => (a.params.sparsity as number) - (b.params.sparsity as number));
    const color = COLORS[i % COLORS.length]!;
    body.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.map((p) => `${x(p.params.sparsity as number)},${y(p.value)}`).join(' ')}"/>`,
    );
    // break-even: where the line crosses 1× (linear in log-speedup between measured sparsities)
    for (let k = 1; k < pts.length; k++) {
      const [a, b] = [pts[k - 1]!, pts[k]!];
      if (a.value < 1 && b.value >= 1) {
        const f = -Math.log(a.value) / (Math.log(b.value) - Math.log(a.value));
        const s =
          (a.params.sparsity as number) + f * ((b.params.sparsity as number) - (a.params.sparsity as number));
        body.push(
          `<circle cx="${x(s)}" cy="${y(1)}" r="4" fill="${color}"><title>${esc(layer)} break-even at ${s.toFixed(2)}</title></circle>`,
        );
      }
    }
    body.push(
      `<rect x="${W - M.r + 10}" y="${M.t + i * 14 - 8}" width="10" height="3" fill="${color}"/>`,
      `<text x="${W - M.r + 24}" y="${M.t + i * 14 - 4}">${esc(layer)}</text>`,
    );
  });
  return frame(title, 'weight sparsity', `speedup over ${over} (log scale)`, body);
}

/** Grouped bars: the time (ms) per case of each value of `series` (the plan, or another parameter such as impl). */
export function planBars(results: readonly BenchResult[], title: string, series = 'plan'): string {
  const rows = results.filter((r) => r.metric === 'time' && Number.isFinite(r.value) && series in r.params);
  const cases = [...new Set(rows.map((r) => r.case))];
  const plans = [...new Set(rows.map((r) => String(r.params[series])))];
  const max = Math.max(...rows.map((r) => r.value));
  const group = (W - M.l - M.r) / Math.max(cases.length, 1);
  const bar = (group * 0.8) / Math.max(plans.length, 1);
  const y = (v: number) => H - M.b - (v / max) * (H - M.t - M.b);
  const body: string[] = [
    `<line x1="${M.l}" x2="${W - M.r}" y1="${H - M.b}" y2="${H - M.b}" stroke="#000"/>`,
  ];
  const step = 10 ** Math.floor(Math.log10(max / 2 || 1));
  for (let t = step; t <= max; t += step * (max / step > 10 ? 2 : 1)) {
    body.push(
      `<line x1="${M.l}" x2="${W - M.r}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>`,
      `<text x="${M.l - 6}" y="${y(t) + 4}" text-anchor="end">${+t.toPrecision(3)}</text>`,
    );
  }
  cases.forEach((c, i) => {
    plans.forEach((p, j) => {
      const r = rows.find((row) => row.case === c && String(row.params[series]) === p);
      if (!r) return;
      const x0 = M.l + i * group + group * 0.1 + j * bar;
      body.push(
        `<rect x="${x0}" y="${y(r.value)}" width="${bar - 2}" height="${H - M.b - y(r.value)}" fill="${COLORS[j % COLORS.length]}"><title>${esc(`${c} ${p}: ${r.value.toFixed(2)} ms`)}</title></rect>`,
      );
    });
    body.push(
      `<text x="${M.l + (i + 0.5) * group}" y="${H - M.b + 16}" text-anchor="middle">${esc(c)}</text>`,
    );
  });
  for (const [j, p] of plans.entries()) {
    body.push(
      `<rect x="${W - M.r + 10}" y="${M.t + j * 14 - 8}" width="10" height="10" fill="${COLORS[j % COLORS.length]}"/>`,
      `<text x="${W - M.r + 24}" y="${M.t + j * 14}">${esc(series === 'plan' ? `${p} plan` : p)}</text>`,
    );
  }

  return frame(title, 'network', 'time per inference (ms)', body);
}

/**
 * The charts of one table's results at one batch size, as [file name, SVG]: speedup vs sparsity for
 * table 1, plan bars for table 2, Zeroskip against ONNX Runtime per network for table 6.
 */
export function tableCharts(
  table: string,
  results: readonly BenchResult[],
  batch: number,
  where: string,
): [string, string][] {
  const rows = results.filter(
    (r) => r.params.batch === batch || (r.params.batch === undefined && r.case.endsWith(`batch ${batch}`)),
  );
  if (table === 'sparse-conv')
    return ['im2col-gemm', 'im2col-spmm'].map((over) => [
      `sparse-conv-b${batch}-over-${over}.svg`,
      speedupChart(rows, over, `Direct sparse conv over ${over}, batch ${batch}${where}`),
    ]);
  if (table === 'networks')
    return [
      [
        `networks-b${batch}.svg`,
        planBars(rows, `Whole networks, batch ${batch}: dense, auto and tuned plans${where}`),
      ],
    ];
  if (table === 'peers')
    return [
      [
        `peers-networks-b${batch}.svg`,
        planBars(
          rows.filter((r) => r.case.endsWith(`batch ${batch}`)),
          `Whole networks, batch ${batch}: Zeroskip auto and dense plans (WebGPU), TF.js (WebGPU), ONNX Runtime (CPU) and ONNX Runtime Web (WebGPU)${where}`,
          'impl',
        ),
      ],
    ];
  return [];
}
