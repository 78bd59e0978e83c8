// the pruning schedules Deep Compression is driven by, so that users need not depend on quant for them
export {
  type AgpOptions,
  agpSchedule,
  iterativeSchedule,
  oneShotSchedule,
  type SparsitySchedule,
} from '@zeroskip/quant';
export {
  type CompressedLayer,
  type DeepCompressOptions,
  type DeepCompressResult,
  deepCompress,
} from './deep-compress.js';
export type {
  CompressibleLayer,
  GradientHook,
  LayerKind,
  LayerSetting,
  WeightHook,
} from './layers.js';
export { type LayerPruning, type PruneRule, PruningMasks } from './masks.js';
export { type SharedLayer, type SharingOptions, WeightSharing } from './sharing.js';
