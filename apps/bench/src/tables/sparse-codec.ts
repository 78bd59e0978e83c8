import { pruneByRate } from '@zeroskip/quant';
import {
  BitReader,
  denseToCsr,
  HuffmanDecoder,
  huffmanCodeLengths,
  huffmanEncode,
  relativeIndexEncode,
} from '@zeroskip/sparse';
import { measureWall } from '../measure.js';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';
import { gaussian } from '../rng.js';

/** Codebook indices as Deep Compression produces them: Gaussian weights on 2^bits uniform levels. */
function codebookIndices(n: number, bits: number, seed: number): Uint16Array {
  const w = gaussian(n, seed);
  const k = 2 ** bits;
  return Uint16Array.from(w, (v) => Math.max(0, Math.min(k - 1, Math.round((v / 6 + 0.5) * (k - 1)))));
}

export const sparseCodec: BenchTable = {
  id: 'codec',
  title: 'Entropy coding and sparse formats on the CPU',
  reference: 'goal: Huffman decode ≥ 100 M symbols/s on a 2-core machine (one thread).',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const opts = { warmup: 2, iterations: full ? 21 : 7 };
    const results: BenchResult[] = [];
    const steps = 4;
    let step = 0;

    for (const bits of [5, 8]) {
      ctx.progress(step++, steps, `Huffman ${bits}-bit`);
      const n = full ? 20_000_000 : 4_000_000;
      const symbols = codebookIndices(n, bits, ctx.seed);
      const freq = new Float64Array(2 ** bits);
      for (const s of symbols) freq[s]!++;
      const lengths = huffmanCodeLengths(freq, 16);
      let bytes = huffmanEncode(symbols, lengths).finish();
      const enc = await measureWall(() => (bytes = huffmanEncode(symbols, lengths).finish()), opts);
      const decoder = new HuffmanDecoder(lengths);
      const out = new Uint16Array(n);
      const dec = await measureWall(() => decoder.decode(new BitReader(bytes), n, out), opts);
      if (!out.every((s, i) => s === symbols[i]))
        throw new Error('Huffman round trip failed in the benchmark.');
      const params = {
        symbols: n,
        alphabet: 2 ** bits,
        bitsPerSymbol: +((bytes.length * 8) / n).toFixed(3),
        seed: ctx.seed,
      };
      const rate = (ms: number) => n / ms / 1e3;
      results.push(
        {
          table: 'codec',
          case: `huffman-encode-${bits}bit`,
          params,
          metric: 'throughput',
          unit: 'M symbols/s',
          value: rate(enc.median),
          timing: { ...enc, clock: 'wall' },
        },
        {
          table: 'codec',
          case: `huffman-decode-${bits}bit`,
          params,
          metric: 'throughput',
          unit: 'M symbols/s',
          value: rate(dec.median),
          timing: { ...dec, clock: 'wall' },
        },
      );
    }

    ctx.progress(step++, steps, 'dense → CSR');
    const side = 4096;
    const w = pruneByRate(gaussian(side * side, ctx.seed + 1), 0.9).weights;
    const m = { rows: side, cols: side, data: w };
    const params = { shape: `${side}x${side}`, sparsity: 0.9, seed: ctx.seed + 1 };
    const csr = await measureWall(() => denseToCsr(m), opts);
    results.push({
      table: 'codec',
      case: 'dense-to-csr',
      params,
      metric: 'throughput',
      unit: 'M elements/s',
      value: (side * side) / csr.median / 1e3,
      timing: { ...csr, clock: 'wall' },
    });

    ctx.progress(step++, steps, 'relative index');
    const ri = await measureWall(() => relativeIndexEncode(w, 8), opts);
    results.push({
      table: 'codec',
      case: 'relative-index-8bit',
      params,
      metric: 'throughput',
      unit: 'M elements/s',
      value: (side * side) / ri.median / 1e3,
      timing: { ...ri, clock: 'wall' },
    });
    ctx.progress(steps, steps, 'done');
    return results;
  },
};
