import {
  type BackendName,
  DEEP_COMPRESSION,
  deepCompressModel,
  loadMnist,
  MODEL_NAMES,
  type ModelName,
  RECIPES,
  reproduce,
  toZsk,
  useBackend,
} from '@zeroskip/train';
import { integerOption, parseCommandArgs, UsageError, writeOutput } from './args.js';

/**
 * `zeroskip train <name> -o model.zsk [--backend cpu|webgpu] [--epochs N]`: trains a shipped MNIST model
 * from scratch with its fixed-seed recipe (and Deep Compression's cycle for the LeNets), reports the
 * test error after every epoch, and writes the .zsk the package ships.
 */
export async function trainCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    output: { type: 'string', short: 'o' },
    backend: { type: 'string', default: 'webgpu' },
    epochs: { type: 'string' },
  });
  const name = positionals[0] ?? '';
  if (!MODEL_NAMES.includes(name))
    throw new UsageError(`unknown model '${name}'; train one of ${MODEL_NAMES.join(', ')}.`);
  if (!values.output?.endsWith('.zsk')) throw new UsageError('name the output file with -o model.zsk.');
  if (values.backend !== 'cpu' && values.backend !== 'webgpu')
    throw new UsageError(`--backend must be cpu or webgpu, got '${values.backend}'.`);
  const epochs = integerOption(values.epochs, '--epochs', 1);
  await useBackend(values.backend as BackendName);
  const mnist = await loadMnist();
  const recipe = RECIPES[name as ModelName];
  console.log(
    `training ${name} on ${values.backend}: ${epochs ?? recipe.epochs} epochs, batch ${recipe.batchSize}, seed ${recipe.seed}`,
  );
  const { model } = await reproduce(name as ModelName, {
    ...mnist,
    ...(epochs ? { epochs } : {}),
    onEpoch: (e) =>
      console.log(
        `epoch ${e.epoch + 1}: loss ${e.loss.toFixed(4)}, test error ${(100 * e.error).toFixed(2)}%, ${e.seconds.toFixed(1)} s`,
      ),
  });
  const dc = DEEP_COMPRESSION[name as keyof typeof DEEP_COMPRESSION];
  const compressed = dc
    ? await deepCompressModel(name as keyof typeof DEEP_COMPRESSION, model, mnist, (stage, error) =>
        console.log(`deep compression ${stage}: test error ${(100 * error).toFixed(2)}%`),
      )
    : undefined;
  const file = toZsk(model, compressed ? { codebooks: compressed.layers, indexBits: dc!.indexBits } : {});
  writeOutput(values.output, file.bytes);
  console.log(
    `${name} → ${values.output}: ${file.bytes.length} bytes, ${(file.denseBytes / file.bytes.length).toFixed(1)}× below float32`,
  );
  model.dispose();
}
