import type { Environment } from './environment.js';
import type { BenchResult, BenchTable } from './results.js';

const fmt = (v: number) =>
  Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);

function rows(results: readonly BenchResult[]): string[][] {
  return results.map((r) => [
    r.case,
    Object.entries(r.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
    `${fmt(r.value)} ${r.unit}`,
    r.timing
      ? `${fmt(r.timing.median)} ms [${fmt(r.timing.p10)}, ${fmt(r.timing.p90)}] ${r.timing.clock}`
      : '',
  ]);
}

const HEAD = ['case', 'parameters', 'result', 'median time [p10, p90] clock'];

/** A plain-text table for the console. */
export function consoleTable(table: BenchTable, results: readonly BenchResult[]): string {
  const body = [HEAD, ...rows(results)];
  const widths = HEAD.map((_, c) => Math.max(...body.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ');
  return [
    `\n${table.title}`,
    table.reference,
    line(HEAD),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows(results).map(line),
  ].join('\n');
}

/** The markdown report: environment, then each table beside its reference. */
export function markdownReport(
  env: Environment,
  sections: readonly { table: BenchTable; results: readonly BenchResult[] }[],
): string {
  const out = [
    '# Zeroskip benchmark report',
    '',
    `Measured ${env.date} at commit \`${env.commit}\` on ${env.cpu} (${env.cores} cores), ${env.os}, Node ${env.node}; WebGPU adapter: ${env.adapter ?? 'none'}.`,
    `Packages: ${Object.entries(env.packages)
      .map(([k, v]) => `${k}@${v}`)
      .join(', ')}.`,
  ];
  for (const { table, results } of sections) {
    out.push(
      '',
      `## ${table.title}`,
      '',
      table.reference,
      '',
      `| ${HEAD.join(' | ')} |`,
      `|${HEAD.map(() => '---').join('|')}|`,
    );
    for (const r of rows(results)) out.push(`| ${r.join(' | ')} |`);
  }
  return `${out.join('\n')}\n`;
}
