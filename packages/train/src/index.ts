export { type BackendName, useBackend } from './backend.js';
export * from './deep-compression/index.js';
export { TrainError, type TrainErrorCode } from './errors.js';
export { GRAPH_INPUT, GRAPH_OUTPUT, toGraph } from './export.js';
export {
  BatchNorm,
  type BatchNormOptions,
  Conv2d,
  type Conv2dOptions,
  Dense,
  Flatten,
  HTanh,
  type InputQuantizer,
  isWeightLayer,
  type Layer,
  MaxPool,
  ReLU,
  type WeightLayerOptions,
  type WeightLayerType,
  type WeightQuantizer,
} from './layers.js';
export {
  IMAGE_SIZE,
  loadMnist,
  loadMnistFiles,
  type Mnist,
  type MnistBytes,
  type MnistOptions,
  type MnistPaths,
  type MnistSplit,
  mnistFromBytes,
  PIXELS,
  parseMnistSplit,
} from './mnist.js';
export {
  createModel,
  type MnistVariant,
  MODEL_NAMES,
  Model,
  type ModelName,
  type ModelOptions,
} from './models.js';
export { createOptimizer, type OptimizerName, type StepOptimizer } from './optimizers.js';
export { loadPretrained, PRETRAINED, type PretrainedName } from './pretrained.js';
export * as quantizers from './quantizers.js';
export {
  DEEP_COMPRESSION,
  type DeepCompressionRecipe,
  deepCompressModel,
  pooledNormsNonNegative,
  RECIPES,
  type Recipe,
  type ReproduceOptions,
  reproduce,
} from './recipes.js';
export {
  type Dataset,
  type EpochInfo,
  evaluate,
  predictScores,
  type Schedule,
  type StepContext,
  type TrainHook,
  type TrainOptions,
  type TrainResult,
  train,
} from './train.js';
export { loadWeights, saveWeights } from './weights.js';
export { type SharedCodebook, toZsk, type ZskExport, type ZskExportOptions } from './zsk-export.js';
