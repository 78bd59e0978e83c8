import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { seededRandom } from '@zeroskip/quant';
import { exportOnnx, float32, importOnnx, parameterCount, readNpy, writeNpy, ZOO } from '@zeroskip/runtime';

// A zoo architecture with seeded random weights (untrained), written as an ONNX file.
const lenet5 = ZOO['lenet-5'];
if (!lenet5) throw new Error(`no 'lenet-5' in the zoo; it has ${Object.keys(ZOO).join(', ')}`);
const graph = lenet5.build({ seed: 0 });
console.log(`${lenet5.description}: ${parameterCount(graph)} parameters`);
await mkdir('models', { recursive: true });
await writeFile('models/zoo-lenet5.onnx', exportOnnx(graph));

// An input of the model's shape: uniform [0, 1) noise from a seed, as `zeroskip input` makes it.
const [first] = importOnnx(new Uint8Array(await readFile('models/zoo-lenet5.onnx'))).inputs;
if (!first) throw new Error('the model has no inputs');
const shape = first.shape.map((d) => (d < 0 ? 1 : d)); // a dynamic batch (-1) becomes 1
const random = seededRandom(1);
const x = float32(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, random));
await writeFile('models/zoo-lenet5.input.npy', writeNpy(x));

const back = readNpy(new Uint8Array(await readFile('models/zoo-lenet5.input.npy')));
console.log(`input '${first.name}': ${back.dtype} [${back.shape.join(', ')}]`);
