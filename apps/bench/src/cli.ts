import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { environment } from './environment.js';
import { consoleTable, markdownReport } from './report.js';
import type { BenchResult, BenchTable } from './results.js';
import { quantizerTable } from './tables/quantizers.js';
import { sparseCodec } from './tables/sparse-codec.js';

const TABLES: readonly BenchTable[] = [sparseCodec, quantizerTable];

const USAGE = `usage: pnpm bench [--suite quick|full] [--only TABLE[,TABLE]] [--json FILE] [--markdown FILE] [--seed N]
tables: ${TABLES.map((t) => t.id).join(', ')}`;

function fail(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

function progressBar(label: string) {
  if (!process.stderr.isTTY) return () => {};
  return (done: number, total: number, step: string) => {
    const width = 24;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${step}`.padEnd(78),
    );
    if (done >= total) process.stderr.write(`${'\r'.padEnd(79)}\r`);
  };
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (e) {
    fail((e as Error).message);
  }
  const suite = args.suite ?? 'quick';
  if (suite !== 'quick' && suite !== 'full') fail(`unknown suite '${suite}'.`);
  const only = args.only?.split(',');
  const unknown = only?.filter((id) => !TABLES.some((t) => t.id === id));
  if (unknown?.length) fail(`unknown table(s) ${unknown.join(', ')}.`);
  const seed = Number(args.seed ?? 42);
  if (!Number.isInteger(seed)) fail(`--seed must be an integer, got ${args.seed}.`);

  const env = environment();
  console.log(
    `Zeroskip bench, ${suite} suite, seed ${seed}: ${env.cpu}, Node ${env.node}, commit ${env.commit}`,
  );
  const sections: { table: BenchTable; results: BenchResult[] }[] = [];
  for (const table of TABLES.filter((t) => !only || only.includes(t.id))) {
    const results = await table.run({ suite, seed, progress: progressBar(table.id) });
    sections.push({ table, results });
    console.log(consoleTable(table, results));
  }
  if (args.json)
    write(
      args.json,
      `${JSON.stringify({ environment: env, suite, seed, tables: sections.map((s) => ({ id: s.table.id, title: s.table.title, reference: s.table.reference, results: s.results })) }, null, 2)}\n`,
    );
  if (args.markdown) write(args.markdown, markdownReport(env, sections));
}

function parse() {
  return parseArgs({
    options: {
      suite: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'string' },
      markdown: { type: 'string' },
      seed: { type: 'string' },
    },
  }).values;
}

function write(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
}

main().catch((e: unknown) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
