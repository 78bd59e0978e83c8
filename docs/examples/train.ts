import { decodeZsk, float32, optimize, runCpu } from '@zeroskip/runtime';
import {
  createModel,
  evaluate,
  GRAPH_INPUT,
  GRAPH_OUTPUT,
  loadMnist,
  PIXELS,
  toZsk,
  train,
  useBackend,
} from '@zeroskip/train';

await useBackend('cpu'); // 'webgpu' trains the CNNs much faster where there is an adapter
const { train: data, test } = await loadMnist({ trainLimit: 2000, testLimit: 500 });
const model = createModel('lenet-300-100', { seed: 1 });
await train(model, data, { epochs: 1, batchSize: 100, learningRate: 1e-3, seed: 1 });
console.log(`test error after one short epoch: ${await evaluate(model, test.images, test.labels)}`);

// Export to .zsk, then run the file with the runtime like any other model.
const exported = toZsk(model);
console.log(`.zsk: ${exported.storedBytes} bytes of weights (${exported.denseBytes} as float32)`);
const graph = optimize(decodeZsk(exported.bytes).graph);
const digit = float32([1, 1, 28, 28], test.images.slice(0, PIXELS));
const scores = runCpu(graph, { [GRAPH_INPUT]: digit })[GRAPH_OUTPUT];
console.log(`scores of the first test digit (label ${test.labels[0]}): [${scores?.data.join(', ')}]`);
