import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableCharts } from './charts.js';
import type { BenchResult } from './results.js';

// Draws the SVG charts of a results folder from its JSON files: node dist/charts-cli.js apps/bench/results/h100/DATE
const dir = process.argv[2];
if (!dir) {
  console.error('usage: node dist/charts-cli.js RESULTS_DIR');
  process.exit(2);
}
const load = (f: string): BenchResult[] =>
  JSON.parse(readFileSync(f, 'utf8')).tables.flatMap((t: { results: BenchResult[] }) => t.results);
for (const table of ['sparse-conv', 'networks', 'peers'])
  for (const batch of [1, 32]) {
    const json = join(dir, `${table}-b${batch}.json`);
    if (!existsSync(json)) continue;
    for (const [name, svg] of tableCharts(table, load(json), batch, ' (H100)')) {
      writeFileSync(join(dir, name), svg);
      console.log(`wrote ${join(dir, name)}`);
    }
  }
