import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type BackendName,
  DEEP_COMPRESSION,
  deepCompressModel,
  loadMnist,
  type Mnist,
  type Model,
  type ModelName,
  mnistFromBytes,
  RECIPES,
  reproduce,
  saveWeights,
  useBackend,
} from '@zeroskip/train';
import { readIdxGz, weightsFromJson, weightsToJson } from './mnist-files.js';

// Trains the shipped MNIST models from scratch with their fixed-seed recipes and writes each one's
// weights (after every epoch, so a cut-off run keeps its progress) and the per-epoch log.

const { values } = parseArgs({
  options: {
    models: { type: 'string' },
    epochs: { type: 'string' },
    backend: { type: 'string', default: 'webgpu' },
    mnist: { type: 'string' },
    out: { type: 'string', default: 'train-out' },
    'train-limit': { type: 'string' },
    resume: { type: 'string' },
    'start-epoch': { type: 'string' },
    // fields of DEEP_COMPRESSION[model] to override, as JSON: trying a schedule without a release
    'dc-recipe': { type: 'string' },
  },
});

async function data(): Promise<Mnist> {
  const limit = values['train-limit'] ? { trainLimit: Number(values['train-limit']) } : {};
  if (!values.mnist) return loadMnist(limit);
  const read = (f: string) => readIdxGz(values.mnist!, f);
  return mnistFromBytes(
    {
      trainImages: read('train-images-idx3-ubyte'),
      trainLabels: read('train-labels-idx1-ubyte'),
      testImages: read('t10k-images-idx3-ubyte'),
      testLabels: read('t10k-labels-idx1-ubyte'),
    },
    limit,
  );
}

const names = (values.models?.split(',') ?? Object.keys(RECIPES)) as ModelName[];
await useBackend(values.backend as BackendName);
const mnist = await data();
mkdirSync(values.out!, { recursive: true });
const log: Record<string, unknown[]> = {};
const save = async (file: string, model: Model) => {
  writeFileSync(join(values.out!, file), weightsToJson(await saveWeights(model)));
  writeFileSync(join(values.out!, 'train-log.json'), JSON.stringify(log, null, 1));
};
for (const name of names) {
  log[name] = [];
  const { model } = await reproduce(name, {
    train: mnist.train,
    test: mnist.test,
    ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
    ...(values.resume
      ? { resume: { weights: weightsFromJson(values.resume), startEpoch: Number(values['start-epoch']) } }
      : {}),
    onEpoch: async (info, model) => {
      log[name]!.push(info);
      console.log(
        `${name} epoch ${info.epoch + 1}: loss ${info.loss.toFixed(4)}, test error ${(100 * info.error).toFixed(2)}%, ${info.seconds.toFixed(1)} s`,
      );
      await save(`${name}.weights.json`, model);
    },
  });
  if (name in DEEP_COMPRESSION) {
    const t0 = performance.now();
    const dc = await deepCompressModel(
      name as keyof typeof DEEP_COMPRESSION,
      model,
      mnist,
      (stage, error) => {
        log[name]!.push({ stage, error });
        console.log(`${name} deep compression ${stage}: test error ${(100 * error).toFixed(2)}%`);
      },
      {
        ...DEEP_COMPRESSION[name as keyof typeof DEEP_COMPRESSION],
        ...JSON.parse(values['dc-recipe'] ?? '{}'),
      },
    );
    log[name]!.push({ compressed: dc.error, seconds: (performance.now() - t0) / 1000 });
    writeFileSync(
      join(values.out!, `${name}.codebooks.json`),
      JSON.stringify(
        dc.layers.map((l) => ({ name: l.name, bits: l.bits, kept: l.kept, centroids: [...l.centroids] })),
      ),
    );
    await save(`${name}-dc.weights.json`, model);
  }
}
