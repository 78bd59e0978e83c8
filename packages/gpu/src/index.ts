export {
  binaryWeightPlanes,
  dorefaWeightPlanes,
  type LowBitRows,
  lowBitRows,
  quantWeightPlanes,
  ternaryWeightPlanes,
} from './bit-weights.js';
export {
  type AdapterSummary,
  type DeviceFeatures,
  type DeviceLimits,
  Gpu,
  isSoftwareAdapter,
  type ProfileResult,
  type Program,
  type RequestDeviceOptions,
  requestDevice,
} from './device.js';
export { GpuError, type GpuErrorCode } from './errors.js';
export { BufferUsage, MapMode } from './flags.js';
export { type ConvGeometry, type ConvParams, convGeometry } from './geometry.js';
export { broadcastStrides, encodeBinary } from './kernels/binary.js';
export { type BitPoolGeometry, bitPoolGeometry, encodeMaxPoolBits } from './kernels/bit-pool.js';
export {
  type BitEncoding,
  type BitwiseConvBuffers,
  type BitwiseKind,
  encodeBitwiseConv,
  encodeBitwiseConvSign,
  encodePackBits,
  planeCount,
  signThresholds,
} from './kernels/bitwise.js';
export { ConvPoolSignLayer, type SignAffine } from './kernels/conv-pool-sign.js';
export {
  AUTO_PADS,
  type AutoPad,
  type ConvTransposeAttributes,
  type ConvTransposeGeometry,
  convTransposeGeometry,
  convTransposeOutput,
  convTransposeReference,
  encodeConvTranspose,
} from './kernels/conv-transpose.js';
export {
  chooseDenseKernel,
  DENSE_KERNELS,
  type DenseKernel,
  denseConvSeconds,
  denseKernelApplies,
  gemmTileOf,
  parseDenseKernel,
} from './kernels/dense-kernel.js';
export type { ConvOutputBuffers } from './kernels/epilogue.js';
export {
  encodeFakeQuantize,
  type FakeQuantizeSpec,
  fakeQuantizeReference,
} from './kernels/fake-quantize.js';
export { ALL_FINITE, encodeFirstNonFinite } from './kernels/finite-check.js';
export {
  type ConvBuffers,
  type ConvGemmOptions,
  encodeDepthwiseConv,
  encodeIm2col,
  encodeIm2colGemmConv,
  encodeImplicitGemmConv,
  type InputPool,
  inputPoolOf,
} from './kernels/gemm-conv.js';
export { GEMV_MAX_ROWS } from './kernels/gemv.js';
export {
  encodeLowBitFc,
  type LowBitFcBuffers,
  type LowBitWeights,
  lowBitRowsPerGroup,
} from './kernels/lowbit-fc.js';
export { encodeMatmul, MAX_MATMUL_BATCH_DIMS, matmulReference, matmulShape } from './kernels/matmul.js';
export {
  encodeInstanceNorm,
  encodeLayerNorm,
  encodeLrn,
  instanceNormReference,
  type LrnParams,
  layerNormReference,
  lrnReference,
  MAX_NORM_DIMS,
} from './kernels/norm.js';
export {
  batchNormScaleShift,
  broadcastShape,
  encodeAxisGather,
  encodeChannelAffine,
  encodeChannelShuffle,
  encodeConcatInto,
  encodeGlobalAvgPool,
  encodePool,
  encodeSoftmax,
  encodeTranspose,
  type PoolParams,
  type PoolWindow,
  poolOutput,
  poolWindowOf,
} from './kernels/ops.js';
export {
  encodePack,
  encodeUnpackBits,
  encodingPlanes,
  type PackAffine,
  type PackedEncoding,
  packedShape,
} from './kernels/pack-bits.js';
export { encodePadNd, MAX_PAD_RANK, PAD_MODES, type PadMode } from './kernels/pad.js';
export {
  encodeQuantConv,
  type QuantConvBuffers,
  type QuantConvKernel,
  type QuantConvOutput,
  type WeightEncoding,
} from './kernels/quant-conv.js';
export {
  type ArgReduceOp,
  argReduceReference,
  encodeArgReduce,
  encodeReduce,
  MAX_REDUCE_RANK,
  REDUCE_OPS,
  type ReduceOp,
  reduceReference,
} from './kernels/reduce.js';
export { encodeResize, type ResizeParams, resizeReference } from './kernels/resize.js';
export {
  COORDINATE_MODES,
  type CoordinateMode,
  cubicTaps,
  linearTaps,
  NEAREST_MODES,
  type NearestMode,
  nearestIndex,
  originalCoordinate,
  RESIZE_DEFAULTS,
  RESIZE_MODES,
  type ResizeAxis,
  type ResizeMode,
  type ResizeSampling,
  type ResizeTap,
  resizedLength,
  resizeTaps,
} from './kernels/resize-rules.js';
export {
  type BlockedWeights,
  blockedWeights,
  encodeSparseBlockedConv,
  encodeStripGather,
  parseSparseBlocking,
  type SparseBlockedBuffers,
  type SparseBlocking,
  type StripLayout,
  sparseBlocking,
  sparseBlockingName,
  stripLayout,
} from './kernels/sparse-blocked-conv.js';
export {
  encodeDirectSparseConv,
  encodeIm2colSpmmConv,
  encodePad,
  type SparseConvBuffers,
  type SpmmConvBuffers,
} from './kernels/sparse-conv.js';
export { type SparseCostRegime, sparseConvSeconds } from './kernels/sparse-cost.js';
export { encodeSparseFc, type SparseFcBuffers } from './kernels/sparse-fc.js';
export {
  encodeSparseStagedConv,
  parseSparseStaging,
  type SparseStagedBuffers,
  type SparseStaging,
  type StagedWeights,
  type StagedWindow,
  sparseStaging,
  sparseStagingName,
  stagedTileUse,
  stagedWeights,
  stagedWindow,
  stagingFitsAnywhere,
  type ThreadLimits,
} from './kernels/sparse-staged-conv.js';
export {
  encodeSparseTiledConv,
  parseSparseTiling,
  readsInputAsIs,
  type SparseTiledBuffers,
  type SparseTiling,
  sparseRowOrder,
  sparseTiling,
  sparseTilingName,
  tiledPadGeometry,
} from './kernels/sparse-tiled-conv.js';
export { GEMM_TILES, type GemmTile, type GemmTileName } from './kernels/tiled-gemm.js';
export {
  encodeActivation,
  encodeParamActivation,
  encodeUnary,
  PARAM_ACTIVATIONS,
  type ParamActivation,
} from './kernels/unary.js';
export type { ValueSource } from './kernels/values.js';
export type { WinogradBlock } from './kernels/winograd.js';
export {
  CONV_ALGORITHMS,
  Conv2dLayer,
  type Conv2dSpec,
  type ConvAlgorithm,
  chooseConvAlgorithm,
  chooseFcAlgorithm,
  FcLayer,
  type FcSpec,
  LOWBIT_MAX_ROWS,
  LOWBIT_MIN_WEIGHTS,
  POINTWISE_TILED_MIN_WIDTH,
  poolsInLoader,
  type SharedWeights,
  SPARSE_CONV_THRESHOLD,
  SPARSE_FC_THRESHOLD,
  SPARSE_GEMV_THRESHOLD,
  SPARSE_TILED_MAX_IMAGES,
  SPARSE_TILED_MIN_WIDTH,
  STAGED_MIN_TILE_USE,
  sparseConvAlgorithm,
  weightSparsity,
} from './layers.js';
export {
  BINARY_OPS,
  type BinaryOp,
  UNARY_OPS,
  type UnaryOp,
  type UnaryParams,
  unaryParams,
} from './pointwise.js';
export { BufferPool } from './pool.js';
export { activationEncoding, QuantConvLayer, quantOutputEncoding } from './quant-conv-layer.js';
export {
  activationCode,
  activationLevels,
  bitsCode,
  MAX_QUANT_ACCUMULATOR,
  MAX_QUANT_BITS,
  offGridWeight,
  outputLevels,
  QUANT_ACTIVATIONS,
  QUANT_OUTPUTS,
  QUANT_WEIGHTS,
  type QuantActivations,
  type QuantConvParams,
  type QuantConvSpec,
  type QuantOutput,
  type QuantWeights,
  quantActivationCodes,
  quantConvAccumulators,
  quantConvGeometry,
  quantConvReference,
  quantLevels,
  quantOutputTransform,
  quantWeightCodes,
  sign0Code,
  signCode,
  unorderedThresholdRow,
  weightCode,
  weightLevels,
} from './quant-conv-reference.js';
export {
  type Clock,
  type Command,
  type Dispatch,
  grid,
  type PendingRead,
  Recorder,
  type RecorderTiming,
} from './recorder.js';
export {
  applyActivation,
  binaryReference,
  conv2dReference,
  convReference,
  fcReference,
  poolReference,
  softmaxReference,
  transposeReference,
} from './reference.js';
export { CODE_WIDTHS, codeWidth, packCodes, stretchOffsets } from './sparse-weights.js';
export { Staging } from './staging.js';
export { type GpuTensor, reshape, strides, type TensorData } from './tensor.js';
export { F32_MAX, type UniformField, UniformStruct, type UniformValues, uniformAt } from './uniforms.js';
export { ACTIVATIONS, type Activation, type Window } from './wgsl.js';
