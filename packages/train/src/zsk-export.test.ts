import { decodeZsk, float32, optimize, runCpu } from '@zeroskip/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from './engine.js';
import { GRAPH_INPUT, GRAPH_OUTPUT, toGraph } from './export.js';
import { loadMnist, type MnistSplit, PIXELS } from './mnist.js';
import { createModel, type ModelName } from './models.js';
import { loadPretrained, PRETRAINED } from './pretrained.js';
import { uniform } from './test-util.js';
import { toZsk } from './zsk-export.js';

const N = 4;
let pixels: Float32Array;
let test: MnistSplit;

beforeAll(async () => {
  await tf.setBackend('cpu');
  pixels = uniform(N * PIXELS, 5, 0, 1);
  // the first 300 test images: enough to tell a trained model from a broken one, quick on the CPU executor
  ({ test } = await loadMnist({ trainLimit: 1, testLimit: 300 }));
});

const scores = (graph: Parameters<typeof runCpu>[0], x: Float32Array, n: number) =>
  runCpu(graph, { [GRAPH_INPUT]: float32([n, 1, 28, 28], x) })[GRAPH_OUTPUT]!.data as Float32Array;

describe('toZsk', () => {
  // at most: 32× for sign bits, 16× for two ternary planes, less the float scales and thresholds
  for (const [name, kinds, below] of [
    ['binarynet', ['binary'], 25],
    ['ternarynet', ['ternary'], 12],
    ['dorefa-w1a3', ['binary'], 25],
  ] as const) {
    it(`${name}: weight layers stored packed (${kinds.join(', ')}), and the file runs as the graph does`, () => {
      const model = createModel(name as ModelName, { seed: 3 });
      try {
        const file = toZsk(model);
        const stored = [...file.encodings.values()].map((e) => e.kind);
        expect(new Set(stored)).toEqual(new Set(kinds));
        expect(file.denseBytes / file.storedBytes).toBeGreaterThan(below);
        const decoded = decodeZsk(file.bytes).graph;
        expect(Array.from(scores(decoded, pixels, N))).toEqual(
          Array.from(scores(optimize(toGraph(model)), pixels, N)),
        );
      } finally {
        model.dispose();
      }
    });
  }

  it('stores Deep-Compressed layers with their codebooks, exactly', () => {
    const model = createModel('lenet-300-100', { seed: 2 });
    try {
      // share every layer's weights on a 4-value codebook, with zeros for pruned weights
      const codebooks = model.weightLayers.map((l) => {
        const centroids = Float32Array.of(-0.1, -0.03, 0.03, 0.1);
        const w = l.kernel.dataSync() as Float32Array;
        const shared = w.map((v, i) =>
          i % 3 === 0 ? 0 : centroids[Math.max(0, Math.min(3, Math.floor((v + 0.2) * 10)))]!,
        );
        l.kernel.assign(tf.tensor(shared, l.kernel.shape));
        return { centroids };
      });
      const file = toZsk(model, { codebooks, indexBits: { conv: 5, fc: 5 } });
      expect([...file.encodings.values()].every((e) => e.kind === 'sparse')).toBe(true);
      expect(file.denseBytes / file.bytes.length).toBeGreaterThan(8);
      const decoded = decodeZsk(file.bytes).graph;
      expect(Array.from(scores(decoded, pixels, N))).toEqual(
        Array.from(scores(optimize(toGraph(model)), pixels, N)),
      );
    } finally {
      model.dispose();
    }
  });
});

describe('the shipped models', () => {
  for (const name of Object.keys(PRETRAINED)) {
    it(`${name}: N×1×28×28 pixels → N×10 scores, and it classifies MNIST test images`, async () => {
      const { graph } = decodeZsk(await loadPretrained(name));
      expect(graph.inputs.map((i) => [i.name, i.shape.slice(1)])).toEqual([[GRAPH_INPUT, [1, 28, 28]]]);
      const s = scores(graph, test.images, test.count);
      let wrong = 0;
      for (let i = 0; i < test.count; i++) {
        const row = Array.from(s.subarray(i * 10, i * 10 + 10));
        if (row.indexOf(Math.max(...row)) !== test.labels[i]) wrong++;
      }
      // every shipped model is below 2.5% on the full test set; 300 images leave room for the sample
      expect(wrong / test.count).toBeLessThan(0.04);
    }, 120_000);
  }

  it('names the shipped models when asked for one that does not exist', async () => {
    await expect(loadPretrained('alexnet')).rejects.toThrow(
      /no pretrained model 'alexnet'; choose one of binarynet/,
    );
  });
});
