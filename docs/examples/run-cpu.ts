import { readFile } from 'node:fs/promises';
import { importOnnx, optimize, readNpy, runCpu } from '@zeroskip/runtime';

// A folder holding lenet5.onnx and an input for it, as the first argument (default ./models).
const models = process.argv[2] ?? 'models';
const read = async (file: string) => new Uint8Array(await readFile(`${models}/${file}`));

// optimize() folds batch norms and constants and fuses activations: run it once after loading.
const graph = optimize(importOnnx(await read('lenet5.onnx')));
const input = readNpy(await read('lenet5.input.npy'));

const { output } = runCpu(graph, { input });
if (!output) throw new Error(`the model's outputs are ${graph.outputs.join(', ')}, not 'output'`);
const scores = Array.from(output.data);
console.log(`output ${output.shape.join('×')}, class ${scores.indexOf(Math.max(...scores))}`);
