import { pruneByRate } from '@zeroskip/quant';
import { decodeWeightPayload, encodeWeightPayload, payloadToDense } from '@zeroskip/sparse';
import { gaussian } from './rng.js';

// Compresses one conv layer's weights the Deep Compression way and prints the size breakdown:
// a VGG-style 3×3 conv with 256 input and 256 output channels, seeded Gaussian weights.
const [o, i, k] = [256, 256, 3];
const rows = o;
const cols = i * k * k;
const weights = pruneByRate(gaussian(rows * cols, 1), 0.7).weights;

// Weight sharing: 256 uniform levels over the kept weights (k-means lives in @zeroskip/quant).
const max = weights.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
// 255 steps over [−max, max] never land on 0, so every kept weight stays non-zero.
const codebook = Float32Array.from({ length: 256 }, (_, j) => -max + ((2 * max) / 255) * j);
const shared = weights.map((v) => (v === 0 ? 0 : codebook[Math.round(((v + max) / (2 * max)) * 255)]!));

const matrix = { rows, cols, data: shared };
const pruned = encodeWeightPayload({ rows, cols, data: weights }, { indexBits: 8 });
const quantized = encodeWeightPayload(matrix, { indexBits: 8, codebook });
const coded = encodeWeightPayload(matrix, { indexBits: 8, codebook, huffman: true });

const back = payloadToDense(decodeWeightPayload(coded.bytes));
if (!back.data.every((v, j) => v === shared[j])) throw new Error('round trip failed');

const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
console.log(
  `conv ${o}×${i}×${k}×${k}: ${rows * cols} weights, ${kb(rows * cols * 4)} dense f32, 70% pruned\n`,
);
console.log('stage                      size        ratio   index bits  weight bits');
for (const [name, r] of [
  ['pruned (CSR + 8-bit index)', pruned.breakdown],
  ['+ 8-bit weight sharing', quantized.breakdown],
  ['+ Huffman', coded.breakdown],
] as const) {
  const perEntry = (bits: number) => (bits / r.entries).toFixed(2);
  console.log(
    `${name.padEnd(26)} ${kb(r.totalBytes).padStart(10)}  ${r.ratio.toFixed(1).padStart(5)}×  ${perEntry(r.indexBits).padStart(10)}  ${perEntry(r.weightBits).padStart(11)}`,
  );
}
console.log(
  `\n${coded.breakdown.fillers} filler zeros; Huffman saved ${kb(coded.breakdown.huffmanSavingBits / 8)}; decoded back bit-exact.`,
);
