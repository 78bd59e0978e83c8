export {
  binarizeSign,
  binarizeStochastic,
  binarizeXnorWeights,
  bnnQuantize,
  type ConvGeometry,
  hardSigmoid,
  steGradient,
  type XnorWeights,
  xnorInputScale,
} from './binary.js';
export {
  binaryDot,
  bitplaneDot,
  channelWords,
  type PackedBitplanes,
  type PackedBits,
  type PackedTernary,
  packBitplanes,
  packedAt,
  packSigns,
  packTernary,
  popcount32,
  type Shape4,
  ternaryDot,
  unpackBitplanes,
  unpackSigns,
  unpackTernary,
} from './bitpack.js';
export {
  type DorefaBits,
  dorefaActivations,
  dorefaGradients,
  dorefaLayerBits,
  dorefaWeights,
  quantizeK,
} from './dorefa.js';
export { QuantError, type QuantErrorCode } from './errors.js';
export {
  fineTuneCentroids,
  type KMeansInit,
  type KMeansOptions,
  kmeansShare,
  type WeightSharing,
  weightSharingRatio,
} from './kmeans.js';
export {
  dequantize,
  fromFixedPoint,
  type LinearOptions,
  type LinearQuantized,
  quantizeAffine,
  quantizeSymmetric,
  toFixedPoint,
} from './linear.js';
export { applyMask, maskGradient, maskSparsity } from './mask.js';
export {
  hanThreshold,
  type PruneResult,
  pruneByRate,
  pruneByThreshold,
  pruneGlobal,
  pruneLayers,
} from './prune.js';
export { roundHalfEven } from './round.js';
export {
  type AgpOptions,
  agpSchedule,
  iterativeSchedule,
  oneShotSchedule,
  type SparsitySchedule,
} from './schedule.js';
export { relativeL2Error, seededRandom } from './stats.js';
export {
  type ChannelPruneResult,
  type ConvShape,
  channelNorms,
  type Norm,
  pruneBlocks,
  pruneChannels,
  pruneNM,
  selectChannels,
} from './structured.js';
export {
  type FiveLevelResult,
  fiveLevel,
  type TernaryResult,
  ternarize,
  ternarizeExact,
  twnExactThreshold,
  twnScore,
  twnThreshold,
} from './ternary.js';
