import { decodeZsk, float32, optimize, WebGpuSession } from '@zeroskip/runtime';
import { GRAPH_INPUT, GRAPH_OUTPUT, IMAGE_SIZE, loadPretrained } from '@zeroskip/train';

/**
 * A digit classifier on WebGPU. In a page the device comes from navigator.gpu, and loadPretrained
 * fetches the .zsk beside @zeroskip/train's module (bundlers emit it as an asset); the same code
 * runs in Node on Dawn.
 */
export async function openClassifier() {
  const graph = optimize(decodeZsk(await loadPretrained('binarynet')).graph);
  const session = await WebGpuSession.create(graph);
  return {
    /** The digit in 28×28 grayscale pixels in [0, 1], white on black as in MNIST. */
    async classify(pixels: Float32Array): Promise<number> {
      const x = float32([1, 1, IMAGE_SIZE, IMAGE_SIZE], pixels);
      const scores = Array.from((await session.run({ [GRAPH_INPUT]: x }))[GRAPH_OUTPUT]?.data ?? []);
      return scores.indexOf(Math.max(...scores));
    },
    close: () => session.destroy(),
  };
}

const classifier = await openClassifier();
const stroke = new Float32Array(IMAGE_SIZE * IMAGE_SIZE);
for (let y = 5; y < 23; y++) stroke.fill(1, y * IMAGE_SIZE + 13, y * IMAGE_SIZE + 16); // a "1"
console.log(`a vertical stroke reads as ${await classifier.classify(stroke)}`);
classifier.close();
