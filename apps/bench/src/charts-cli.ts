import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planBars, speedupChart } from './charts.js';
import type { BenchResult } from './results.js';

// Draws the SVG charts of a results folder from its JSON files: node dist/charts-cli.js apps/bench/results/h100/DATE
const dir = process.argv[2];
if (!dir) {
  console.error('usage: node dist/charts-cli.js RESULTS_DIR');
  process.exit(2);
}
const load = (f: string): BenchResult[] =>
  JSON.parse(readFileSync(join(dir, f), 'utf8')).tables.flatMap((t: { results: BenchResult[] }) => t.results);
for (const batch of [1, 32]) {
  const conv = `sparse-conv-b${batch}.json`;
  if (existsSync(join(dir, conv))) {
    for (const over of ['im2col-gemm', 'im2col-spmm']) {
      const file = join(dir, `sparse-conv-b${batch}-over-${over}.svg`);
      writeFileSync(
        file,
        speedupChart(load(conv), over, `Direct sparse conv over ${over}, batch ${batch} (H100)`),
      );
      console.log(`wrote ${file}`);
    }
  }
  const nets = `networks-b${batch}.json`;
  if (existsSync(join(dir, nets))) {
    const file = join(dir, `networks-b${batch}.svg`);
    writeFileSync(
      file,
      planBars(load(nets), `Whole networks, batch ${batch}: dense, auto and tuned plans (H100)`),
    );
    console.log(`wrote ${file}`);
  }
}
