import { mkdir, readFile, writeFile } from 'node:fs/promises';
import {
  compressModel,
  decodeZsk,
  encodeZsk,
  importOnnx,
  optimize,
  readNpy,
  runCpu,
} from '@zeroskip/runtime';

const models = process.argv[2] ?? 'models';
const read = async (file: string) => new Uint8Array(await readFile(`${models}/${file}`));
const graph = optimize(importOnnx(await read('lenet5.onnx')));
const input = readNpy(await read('lenet5.input.npy'));

// Deep Compression: prune 90% of each layer, share weights in 2^8 (conv) and 2^5 (fc) clusters,
// Huffman-code the rest. The first and last layers stay float only for binarize/ternary/dorefa.
const compressed = compressModel(graph, { prune: 0.9, cluster: { conv: 8, fc: 5 }, huffman: true });
for (const r of compressed.rows)
  console.log(
    `${r.layer}: ${r.params} params, kept ${(100 * r.kept).toFixed(1)}%, ${r.encoding}, ${r.bytes} bytes (${r.ratio.toFixed(1)}×)`,
  );
const { denseBytes, bytes, ratio } = compressed.total;
console.log(`total: ${denseBytes} → ${bytes} bytes (${ratio.toFixed(1)}×)`);

// The .zsk file holds exactly compressed.graph: running either gives the same numbers.
await mkdir('out', { recursive: true });
await writeFile('out/lenet5.zsk', encodeZsk(compressed.graph, compressed.encodings, compressed.meta));
const file = new Uint8Array(await readFile('out/lenet5.zsk'));
const model = decodeZsk(file); // checks every checksum, size and reference
const fromFile = runCpu(optimize(model.graph), { input }).output?.data;
const inMemory = runCpu(compressed.graph, { input }).output?.data;
if (!fromFile || !inMemory || fromFile.some((v, i) => v !== inMemory[i]))
  throw new Error('the .zsk file does not reproduce the compressed model');
console.log(`out/lenet5.zsk: ${file.length} bytes, reproduces the compressed model exactly`);
