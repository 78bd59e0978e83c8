import type { BenchResult } from './results.js';

/** One ratio of a headline: an entry's geometric mean over the cases that have it. */
export interface HeadlineEntry {
  readonly label: string;
  readonly value: number;
  readonly cases: number;
}

/** A summary line: ratios that share every parameter but the entry's and the averaged-over ones. */
export interface Headline {
  readonly label: string;
  /** Cases this line averages over (1 where the line is one case's). */
  readonly cases: number;
  readonly entries: readonly HeadlineEntry[];
}

/** How a table's ratio rows fold into headlines. */
interface Fold {
  /** Parameters that name the entries of a line. */
  readonly entry: readonly string[];
  /** Parameters averaged over, with the case (a layer's own sparsity, an estimate beside the figure). */
  readonly across?: readonly string[];
  /** Keep each case on its own line instead of averaging over cases. */
  readonly perCase?: boolean;
  readonly where?: (r: BenchResult) => boolean;
}

// Each table's ratios as its reference compares them; a table not listed gets one line per ratio row.
const FOLDS: Readonly<Record<string, Fold>> = {
  'sparse-conv': { entry: ['sparsity'] },
  networks: { entry: ['plan'] },
  bitwise: { entry: ['kernel'], across: ['layer', 'shape', 'swarEstimate'] },
  'lowbit-fc': { entry: ['kernel'], across: ['layer', 'shape'] },
  'quantized-nets': { entry: ['clock'], perCase: true },
  peers: { entry: ['impl'], across: ['sparsity'] },
  compression: {
    entry: [],
    across: ['weights', 'kept', 'fileBytes'],
    perCase: true,
    where: (r) => r.case.endsWith('P+Q+H'),
  },
};
const DEFAULT_FOLD: Fold = { entry: [], perCase: true };

/** Parameters that say how a figure was made, not what it compares. */
const PROVENANCE = ['seed'];

/** A row is a ratio when its unit is ×: the speedups and compression ratios the tables emit. */
const isRatio = (r: BenchResult) => r.unit === '×' && Number.isFinite(r.value) && r.value > 0;

const geomean = (xs: readonly number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

const pairs = (r: BenchResult, keys: readonly string[]) =>
  keys.filter((k) => k in r.params).map((k) => `${k}=${r.params[k]}`);

/** Groups in first-seen order. */
function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of xs) out.set(key(x), [...(out.get(key(x)) ?? []), x]);
  return out;
}

/**
 * A table's headline ratios, from its results: per line, each entry's geometric mean over the cases. An
 * entry that more than half of the line's cases lack (a sparsity only one layer was pruned to) is left out.
 */
export function headlines(table: string, results: readonly BenchResult[]): Headline[] {
  const fold = FOLDS[table] ?? DEFAULT_FOLD;
  const rows = results.filter((r) => isRatio(r) && (fold.where?.(r) ?? true));
  const drop = new Set([...fold.entry, ...(fold.across ?? []), ...PROVENANCE]);
  const lineLabel = (r: BenchResult) =>
    [
      ...(fold.perCase ? [r.case] : []),
      r.metric,
      ...pairs(
        r,
        Object.keys(r.params).filter((k) => !drop.has(k)),
      ),
    ].join(' ');
  const out: Headline[] = [];
  for (const [label, line] of groupBy(rows, lineLabel)) {
    const cases = new Set(line.map((r) => r.case)).size;
    const entries: HeadlineEntry[] = [];
    for (const [entry, group] of groupBy(line, (r) => pairs(r, fold.entry).join(' '))) {
      const n = new Set(group.map((r) => r.case)).size;
      if (n > cases / 2) entries.push({ label: entry, value: geomean(group.map((r) => r.value)), cases: n });
    }
    out.push({ label, cases, entries });
  }
  return out;
}
