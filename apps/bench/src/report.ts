import { type AdapterSummary, isSoftwareAdapter } from '@zeroskip/gpu';
import type { Environment } from './environment.js';
import { type Headline, headlines } from './headlines.js';
import type { BenchResult, BenchTable } from './results.js';

/** The widest line the console report prints; the JSON and markdown reports keep every detail. */
export const CONSOLE_WIDTH = 120;

const GAP = '  ';

const fmt = (v: number) =>
  Number.isInteger(v)
    ? String(v)
    : Math.abs(v) >= 100
      ? v.toFixed(0)
      : Math.abs(v) >= 1
        ? v.toFixed(2)
        : v.toPrecision(3);

const paramText = (params: readonly (readonly [string, string | number])[]) =>
  params.map(([k, v]) => `${k}=${v}`).join(' ');

// A NaN figure is a measurement the table could not take; it says why in its `skipped` parameter.
const resultText = (r: BenchResult) =>
  Number.isFinite(r.value) || !('skipped' in r.params) ? `${fmt(r.value)} ${r.unit}`.trim() : 'skipped';

const timeText = (r: BenchResult) =>
  r.timing ? `${fmt(r.timing.median)} ms [${fmt(r.timing.p10)}, ${fmt(r.timing.p90)}] ${r.timing.clock}` : '';

/** A row's result and time cells, which the console never cuts. */
export const figureCells = (r: BenchResult): readonly [string, string] => [resultText(r), timeText(r)];

const HEAD = ['case', 'parameters', 'result', 'median time [p10, p90] clock'];

function rows(results: readonly BenchResult[]): string[][] {
  return results.map((r) => [r.case, paramText(Object.entries(r.params)), resultText(r), timeText(r)]);
}

/** `parts` joined by spaces in lines of at most `width`, continuation lines indented; a part is never split unless wider than a line. */
function pack(parts: readonly string[], width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const part of parts) {
    if (line.trim() && line.length + 1 + part.length > width) {
      lines.push(line);
      line = `${indent}${part}`;
    } else line = line.trim() ? `${line} ${part}` : `${line}${part}`;
    // a part wider than the line (a long path or message) is cut, not left to overflow
    while (line.length > width) {
      lines.push(line.slice(0, width));
      line = `${indent}${line.slice(width)}`;
    }
  }
  return [...lines, line];
}

/** Words of `text` in lines of at most `width`: its own indent kept, continuation lines indented. */
export function wrap(text: string, width = CONSOLE_WIDTH, indent = '    '): string[] {
  const lead = /^ */.exec(text)![0];
  const [first = '', ...words] = text.slice(lead.length).split(' ');
  return pack([`${lead}${first}`, ...words], width, indent);
}

const cut = (cell: string, width: number) =>
  cell.length > width ? `${cell.slice(0, width - 1)}…` : cell.padEnd(width);

/** Parameters too wide for a cell: JSON maps such as per-kernel times. */
const isWide = (v: string | number) => typeof v === 'string' && /^[[{]/.test(v);

/**
 * Column widths within CONSOLE_WIDTH: the figures keep their full width, and the widest of the
 * shrinkable text columns gives way until the row fits (its cells are then cut with …).
 */
function fit(natural: readonly number[], shrinkable: readonly number[]): number[] {
  const widths = [...natural];
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP.length * (widths.length - 1);
  while (total() > CONSOLE_WIDTH && shrinkable.length) {
    const widest = shrinkable.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
    if (widths[widest]! <= HEAD[widest]!.length) break;
    widths[widest]!--;
  }
  return widths;
}

/**
 * A compact plain-text table for the console, every line within CONSOLE_WIDTH: parameters shared by
 * every row are printed once above it, JSON-valued ones are left to the JSON and markdown reports, and
 * the case and parameter cells are cut to fit.
 */
export function consoleTable(table: BenchTable, results: readonly BenchResult[]): string {
  const keys = [...new Set(results.flatMap((r) => Object.keys(r.params)))];
  const wide = keys.filter((k) => results.some((r) => k in r.params && isWide(r.params[k]!)));
  const shared =
    results.length > 1
      ? keys.filter((k) => !wide.includes(k) && results.every((r) => r.params[k] === results[0]!.params[k]))
      : [];
  const body = results.map((r) => [
    r.case,
    paramText(Object.entries(r.params).filter(([k]) => !wide.includes(k) && !shared.includes(k))),
    resultText(r),
    timeText(r),
  ]);
  const columns = HEAD.map((_, c) => c).filter((c) => body.some((cells) => cells[c]));
  const pick = (cells: readonly string[]) => columns.map((c) => cells[c]!);
  const widths = fit(
    columns.map((c) => Math.max(HEAD[c]!.length, ...body.map((cells) => cells[c]!.length))),
    [0, 1].map((c) => columns.indexOf(c)).filter((i) => i >= 0),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cut(cell, widths[i]!))
      .join(GAP)
      .trimEnd();
  const first = results[0];
  return [
    '',
    ...wrap(table.title),
    ...table.reference.split('\n').flatMap((part) => wrap(part)),
    ...(first && shared.length
      ? wrap(`every row: ${paramText(shared.map((k) => [k, first.params[k]!] as const))}`)
      : []),
    ...(wide.length ? wrap(`in the JSON and markdown reports only: ${wide.join(', ')}`) : []),
    line(pick(HEAD)),
    widths.map((w) => '-'.repeat(w)).join(GAP),
    ...body.map((cells) => line(pick(cells))),
  ].join('\n');
}

/** A warning line where the WebGPU adapter is a CPU rasterizer (Mesa lavapipe/llvmpipe, SwiftShader). */
export function softwareAdapterNote(adapter: AdapterSummary | undefined): string | undefined {
  if (!adapter || !isSoftwareAdapter(adapter)) return undefined;
  const { vendor, device, description } = adapter;
  const [before, after] = ['timings on a software adapter (', '): not representative of a GPU'];
  const name = description || device || vendor;
  const room = CONSOLE_WIDTH - before.length - after.length;
  return `${before}${name.length > room ? `${name.slice(0, room - 1)}…` : name}${after}`;
}

function headlineLines(table: string, h: Headline): string[] {
  const over = h.cases > 1 ? ` (geomean of ${h.cases} cases)` : '';
  const entries = h.entries.map(
    (e, i) =>
      `${e.label ? `${e.label} ` : ''}${fmt(e.value)}×${e.cases < h.cases ? ` (${e.cases} of ${h.cases})` : ''}${i < h.entries.length - 1 ? ',' : ''}`,
  );
  return pack([`  ${table}: ${h.label}${over}:`, ...entries], CONSOLE_WIDTH, '    ');
}

/**
 * The closing summary: each table's headline ratios, derived from its results, and a warning where
 * the timings come from a software adapter.
 */
export function consoleSummary(
  sections: readonly { table: BenchTable; results: readonly BenchResult[] }[],
  adapter: AdapterSummary | undefined,
): string {
  const lines = sections.flatMap(({ table, results }) =>
    headlines(table.id, results)
      .filter((h) => h.entries.length > 0)
      .flatMap((h) => headlineLines(table.id, h)),
  );
  const note = softwareAdapterNote(adapter);
  return [
    '',
    'Summary: headline ratios (×) measured in this run',
    ...(note ? [note] : []),
    ...(lines.length ? lines : ['  no table in this run measured a ratio']),
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
      table.reference.split('\n').join('\n\n'),
      '',
      `| ${HEAD.join(' | ')} |`,
      `|${HEAD.map(() => '---').join('|')}|`,
    );
    for (const r of rows(results)) out.push(`| ${r.join(' | ')} |`);
  }
  return `${out.join('\n')}\n`;
}
