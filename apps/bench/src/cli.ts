import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { type ConformanceResult, runConformance } from '@zeroskip/gpu/conformance';
import { ZOO } from '@zeroskip/runtime';
import { TABLES } from './all-tables.js';
import { tableCharts } from './charts.js';
import { environment } from './environment.js';
import { consoleSummary, consoleTable, markdownReport, wrap } from './report.js';
import type { BenchResult, BenchTable } from './results.js';

const USAGE = [
  ...wrap(
    'usage: pnpm bench [--suite quick|full] [--only TABLE[,TABLE]] [--json FILE] [--markdown FILE] [--seed N] [--batches N[,N]] [--sparsities S[,S]] [--networks NAME[,NAME]] [--charts DIR] [--conformance]',
  ),
  ...wrap(`tables: ${TABLES.map((t) => t.id).join(', ')}`),
].join('\n');

function fail(message: string): never {
  console.error(`${wrap(`bench: ${message}`).join('\n')}\n${USAGE}`);
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
  const batches = args.batches?.split(',').map(Number);
  if (batches?.some((b) => !Number.isInteger(b) || b < 1))
    fail(`--batches takes positive integers, got ${args.batches}.`);
  const sparsities = args.sparsities?.split(',').map(Number);
  if (sparsities?.some((s) => !(s >= 0 && s < 1)))
    fail(`--sparsities takes fractions in [0, 1), got ${args.sparsities}.`);
  const networks = args.networks?.split(',');
  const notInZoo = networks?.filter((n) => !ZOO[n]);
  if (notInZoo?.length)
    fail(`--networks takes zoo networks (${Object.keys(ZOO).join(', ')}), got ${notInZoo.join(', ')}.`);

  let device: Gpu | undefined;
  const gpu = async () => {
    device ??= await requestDevice();
    return device;
  };
  try {
    const env = environment();
    console.log(
      wrap(
        `Zeroskip bench, ${suite} suite, seed ${seed}: ${env.cpu}, Node ${env.node}, commit ${env.commit}`,
      ).join('\n'),
    );
    let conformance: ConformanceResult[] | undefined;
    if (args.conformance) {
      const g = await gpu();
      console.log(
        `\n${wrap(`Conformance on ${g.adapter.description || g.adapter.device} (${g.adapter.vendor} ${g.adapter.architecture})`).join('\n')}`,
      );
      conformance = await runConformance(g, {
        onResult: (r) =>
          console.log(
            wrap(`${r.ok ? 'pass' : 'FAIL'}  ${r.group}: ${r.name}`)
              .concat(r.error ? wrap(`      ${r.error}`, undefined, '      ') : [])
              .join('\n'),
          ),
      });
      console.log(
        `conformance: ${conformance.filter((r) => r.ok).length} passed, ${conformance.filter((r) => !r.ok).length} failed`,
      );
    }
    const sections: { table: BenchTable; results: BenchResult[] }[] = [];
    for (const table of TABLES.filter((t) => !only || only.includes(t.id))) {
      const results = await table.run({
        suite,
        seed,
        gpu,
        progress: progressBar(table.id),
        ...(batches ? { batches } : {}),
        ...(sparsities ? { sparsities } : {}),
        ...(networks ? { networks } : {}),
      });
      sections.push({ table, results });
      console.log(consoleTable(table, results));
    }
    console.log(consoleSummary(sections, device?.adapter));
    const adapter = device
      ? { ...device.adapter, features: device.features, limits: device.limits }
      : undefined;
    const record = {
      environment: { ...env, adapter },
      suite,
      seed,
      conformance,
      tables: sections.map((x) => ({
        id: x.table.id,
        title: x.table.title,
        reference: x.table.reference,
        results: x.results,
      })),
    };
    if (args.json) write(args.json, `${JSON.stringify(record, null, 2)}\n`);
    if (args.markdown)
      write(
        args.markdown,
        markdownReport(
          {
            ...env,
            adapter: adapter ? `${adapter.vendor} ${adapter.description || adapter.device}` : 'none',
          },
          sections,
        ),
      );
    if (args.charts) {
      for (const { table, results } of sections) {
        const batches = [...new Set(results.map((r) => r.params.batch).filter((b) => b !== undefined))];
        for (const b of batches)
          for (const [file, svg] of tableCharts(table.id, results, Number(b), ''))
            write(join(args.charts, file), svg);
      }
    }
    if (conformance?.some((r) => !r.ok)) process.exitCode = 1;
  } finally {
    device?.destroy();
  }
}

function parse() {
  return parseArgs({
    options: {
      suite: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'string' },
      markdown: { type: 'string' },
      seed: { type: 'string' },
      conformance: { type: 'boolean' },
      batches: { type: 'string' },
      sparsities: { type: 'string' },
      networks: { type: 'string' },
      charts: { type: 'string' },
    },
  }).values;
}

function write(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
}

main().catch((e: unknown) => {
  console.error(wrap(`bench: ${(e as Error).message}`).join('\n'));
  process.exit(1);
});
