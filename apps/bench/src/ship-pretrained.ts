import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeZsk, float32, runCpu, WebGpuSession } from '@zeroskip/runtime';
import {
  createModel,
  DEEP_COMPRESSION,
  GRAPH_INPUT,
  GRAPH_OUTPUT,
  loadWeights,
  type ModelName,
  parseMnistSplit,
  toZsk,
} from '@zeroskip/train';
import { readIdxGz, weightsFromJson } from './mnist-files.js';

// Writes the shipped .zsk files from trained weights and measures each file's test error through the
// runtime, on the CPU executor and on WebGPU, beside the trainer's own error from its training log.

const { values } = parseArgs({
  options: {
    weights: { type: 'string', multiple: true },
    mnist: { type: 'string' },
    out: { type: 'string' },
    results: { type: 'string' },
    // the CPU executor on the float conv nets takes minutes per thousand images: a prefix can stand in
    'cpu-images': { type: 'string' },
  },
});

const read = (f: string) => readIdxGz(values.mnist!, f);
const test = parseMnistSplit(read('t10k-images-idx3-ubyte'), read('t10k-labels-idx1-ubyte'));

/** Test error of `run` over the 10 000 test images, in batches; also the predicted classes. */
async function errorOf(run: (x: Float32Array, n: number) => Promise<Float32Array>, count = test.count) {
  const batch = 500;
  const predictions = new Uint8Array(count);
  let wrong = 0;
  for (let from = 0; from < count; from += batch) {
    const n = Math.min(batch, count - from);
    const scores = await run(test.images.subarray(from * 784, (from + n) * 784), n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (scores[i * 10 + c]! > scores[i * 10 + best]!) best = c;
      predictions[from + i] = best;
      if (best !== test.labels[from + i]) wrong++;
    }
  }
  return { error: wrong / count, images: count, predictions };
}

mkdirSync(values.out!, { recursive: true });
const summary: Record<string, unknown> = {};
for (const spec of values.weights ?? []) {
  // name=weights.json[,codebooks.json]
  const [name, files] = spec.split('=') as [string, string];
  const [weightsFile, codebooksFile] = files.split(',');
  const base = name.replace(/-dc$/, '') as ModelName;
  const model = createModel(base, { seed: 1 });
  loadWeights(model, weightsFromJson(weightsFile!));
  const codebooks = codebooksFile
    ? (JSON.parse(readFileSync(codebooksFile, 'utf8')) as { centroids: number[] }[]).map((c) => ({
        centroids: Float32Array.from(c.centroids),
      }))
    : undefined;
  const dc = DEEP_COMPRESSION[base as keyof typeof DEEP_COMPRESSION];
  const file = toZsk(model, {
    ...(codebooks ? { codebooks, indexBits: dc.indexBits } : {}),
    meta: { input: 'N×1×28×28 float32 pixels in [0, 1]', output: 'N×10 scores' },
  });
  writeFileSync(join(values.out!, `${name}.zsk`), file.bytes);
  const { graph } = decodeZsk(file.bytes);
  const cpu = await errorOf(
    async (x, n) =>
      runCpu(graph, { [GRAPH_INPUT]: float32([n, 1, 28, 28], x) })[GRAPH_OUTPUT]!.data as Float32Array,
  );
  const session = await WebGpuSession.create(graph);
  const gpu = await errorOf(
    async (x, n) =>
      (await session.run({ [GRAPH_INPUT]: float32([n, 1, 28, 28], x) }))[GRAPH_OUTPUT]!.data as Float32Array,
  );
  const kernels = session.planFor({ [GRAPH_INPUT]: [1, 1, 28, 28] }).map((e) => e.kernel);
  session.destroy();
  const agree = cpu.predictions.every((p, i) => p === gpu.predictions[i]);
  const gpuOnPrefix =
    gpu.predictions.subarray(0, cpu.images).filter((p, i) => p !== test.labels[i]).length / cpu.images;
  summary[name] = {
    bytes: file.bytes.length,
    denseBytes: file.denseBytes,
    storedBytes: file.storedBytes,
    ratio: file.denseBytes / file.bytes.length,
    cpuError: cpu.error,
    cpuImages: cpu.images,
    webgpuErrorOnCpuImages: gpuOnPrefix,
    webgpuError: gpu.error,
    predictionsAgree: agree,
    kernels,
  };
  console.log(
    `${name}: ${file.bytes.length} bytes (${(file.denseBytes / file.bytes.length).toFixed(1)}× below f32), error CPU ${(100 * cpu.error).toFixed(2)}% (${cpu.images} images) WebGPU ${(100 * gpu.error).toFixed(2)}%, predictions ${agree ? 'equal' : 'differ'}`,
  );
  model.dispose();
}
if (values.results) writeFileSync(values.results, `${JSON.stringify(summary, null, 1)}\n`);
