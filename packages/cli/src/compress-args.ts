import type { Compressed, CompressOptions } from '@zeroskip/runtime';
import { parseCommandArgs, UsageError } from './args.js';

/** A pruning rate: pruning every weight would leave a model that outputs its biases only. */
function rate(text: string, what: string): number {
  const v = Number(text);
  if (text.trim() === '' || !(v >= 0 && v < 1))
    throw new UsageError(`${what} must be a number in [0, 1), got '${text}'.`);
  return v;
}

function bits(text: string, what: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1 || v > 8)
    throw new UsageError(`${what} must be an integer in 1..8, got '${text}'.`);
  return v;
}

const layerList = (text: string | undefined) =>
  text === undefined ? undefined : text === 'all' ? ('all' as const) : text.split(',').filter(Boolean);

/** Reads compress's command line into the runtime's options. */
export function parseCompressArgs(
  args: string[],
  readFile: (file: string) => Uint8Array,
): { input: string; output: string; options: CompressOptions; json: boolean } {
  const { values, positionals } = parseCommandArgs(args, {
    output: { type: 'string', short: 'o' },
    prune: { type: 'string' },
    'prune-table': { type: 'string' },
    'prune-global': { type: 'boolean' },
    cluster: { type: 'string' },
    huffman: { type: 'boolean' },
    binarize: { type: 'string' },
    ternary: { type: 'string' },
    dorefa: { type: 'string' },
    'quantize-first-last': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const input = positionals[0];
  if (!input) throw new UsageError('name the model to compress.');
  if (!values.output) throw new UsageError('name the output file with -o out.zsk.');
  let pruneTable: Record<string, number> | undefined;
  if (values['prune-table']) {
    const file = values['prune-table'];
    const notATable = () =>
      new UsageError(`${file} is not a prune table; give one as JSON, {"layer name": rate, …}.`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(readFile(file)));
    } catch (e) {
      throw e instanceof SyntaxError ? notATable() : e;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw notATable();
    pruneTable = {};
    for (const [k, v] of Object.entries(parsed))
      pruneTable[k] = rate(typeof v === 'number' ? String(v) : JSON.stringify(v), `the rate of '${k}'`);
  }
  let cluster: CompressOptions['cluster'];
  if (values.cluster) {
    if (values.cluster.includes('=')) {
      const kinds: { conv?: number; fc?: number } = {};
      for (const part of values.cluster.split(',')) {
        const [kind, b] = part.split('=');
        if (kind !== 'conv' && kind !== 'fc')
          throw new UsageError(`--cluster takes BITS or conv=BITS,fc=BITS, got '${values.cluster}'.`);
        kinds[kind] = bits(b ?? '', `--cluster ${kind}`);
      }
      cluster = kinds;
    } else cluster = bits(values.cluster, '--cluster');
  }
  let dorefa: CompressOptions['dorefa'];
  if (values.dorefa) {
    const [w, a] = values.dorefa.split(',');
    dorefa = { weights: bits(w ?? '', '--dorefa W'), activations: bits(a ?? '', '--dorefa A') };
  }
  const binarize = layerList(values.binarize);
  const ternary = layerList(values.ternary);
  const options: CompressOptions = {
    ...(values.prune !== undefined ? { prune: rate(values.prune, '--prune') } : {}),
    ...(values['prune-global'] ? { pruneGlobal: true } : {}),
    ...(pruneTable ? { pruneTable } : {}),
    ...(cluster !== undefined ? { cluster } : {}),
    ...(values.huffman ? { huffman: true } : {}),
    ...(binarize ? { binarize } : {}),
    ...(ternary ? { ternary } : {}),
    ...(dorefa ? { dorefa } : {}),
    ...(values['quantize-first-last'] ? { quantizeFirstLast: true } : {}),
  };
  return { input, output: values.output, options, json: values.json === true };
}

/** The Deep Compression style table, its first column as wide as the longest layer name. */
export function compressTable(c: Compressed, output: string, fileBytes: number): string {
  const width = Math.max('layer'.length, ...c.rows.map((r) => r.layer.length));
  const head = `${'layer'.padEnd(width)} ${'kind'.padEnd(4)} ${'params'.padStart(10)} ${'kept'.padStart(7)} ${'encoding'.padEnd(8)} ${'weight bits'.padStart(11)} ${'index bits'.padStart(10)} ${'bytes'.padStart(10)} ${'ratio'.padStart(7)}`;
  const rows = c.rows.map(
    (r) =>
      `${r.layer.padEnd(width)} ${r.kind.padEnd(4)} ${String(r.params).padStart(10)} ${`${(100 * r.kept).toFixed(1)}%`.padStart(7)} ${r.encoding.padEnd(8)} ${r.weightBits.toFixed(2).padStart(11)} ${r.indexBits.toFixed(2).padStart(10)} ${String(r.bytes).padStart(10)} ${`${r.ratio.toFixed(1)}×`.padStart(7)}`,
  );
  const mib = (b: number) => `${(b / 1024 / 1024).toFixed(2)} MiB`;
  return [
    head,
    ...rows,
    '',
    `total: ${c.total.params} weights; ${mib(c.total.denseBytes)} as f32 → ${mib(c.total.bytes)} of tensors (${c.total.ratio.toFixed(1)}×); ${output}: ${mib(fileBytes)} (${(c.total.denseBytes / fileBytes).toFixed(1)}×)`,
  ].join('\n');
}
