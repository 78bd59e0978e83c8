import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { quantizerTable } from './tables/quantizers.js';

// Regenerates the measured tables inside package READMEs, between <!-- NAME:start --> and <!-- NAME:end -->.
// Run from the repository root: pnpm --filter @zeroskip/bench readme-tables
const root = resolve(import.meta.dirname, '../../..');
const SEED = 42;

function replaceSection(file: string, name: string, body: string): void {
  const path = resolve(root, file);
  const text = readFileSync(path, 'utf8');
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${file} has no ${start} … ${end} section.`);
  writeFileSync(path, `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`);
  console.log(`updated ${file} (${name})`);
}

const results = await quantizerTable.run({
  suite: 'quick',
  seed: SEED,
  progress: () => {},
  gpu: () => Promise.reject(new Error('the quantizer table needs no GPU')),
});
const lines = [
  `Measured by \`pnpm --filter @zeroskip/bench readme-tables\` on 10⁶ weights (seed ${SEED}), viewed as 1000 filters of 1000.`,
  '',
  '| quantizer | ratio vs f32 | rel. L2 error, Gaussian | rel. L2 error, Laplacian |',
  '|---|---:|---:|---:|',
];
for (let i = 0; i < results.length; i += 2) {
  const g = results[i]!;
  const l = results[i + 1]!;
  lines.push(
    `| ${g.case.replaceAll('|', '\\|')} | ${g.params.ratio}× | ${g.value.toFixed(4)} | ${l.value.toFixed(4)} |`,
  );
}
replaceSection('packages/quant/README.md', 'quantizer-table', lines.join('\n'));
